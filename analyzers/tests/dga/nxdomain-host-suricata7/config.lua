-- the NXDOMAIN ratio counts from the 3rd answer of a host (default 10), so the
-- borderline names of this short case (wvfsacllareir.org, hufofpnjs.biz) are raised
analyzers = { { tag = "dga", script = "dga.lua", settings = { nx_min = 3 } } }
