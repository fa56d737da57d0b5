-- Every record to the analyzers that declare its event type (the evaluation root's input script).
function loop(msg)
  if msg ~= nil and msg.event_type ~= nil then mle.route(msg) end
end
