-- read the list of this case instead of analyzers/data/ioc
analyzers = { { tag = "ioc", script = "ioc.lua", settings = { folder = "analyzers/tests/ioc/list-formats", files = { "list.txt", "absent.txt" } } } }
