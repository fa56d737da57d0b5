analyzer = { event_types = { "dns" } }
function loop(msg) end
