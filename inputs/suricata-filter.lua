-- Input script: hand every Suricata EVE record to the analyzers.
--
-- loop() receives each decoded record, or nil for a line that was not valid
-- JSON (MLE has already counted it and written it to the dead-letter file).
-- Records without an event_type (a corrupted line, a non-EVE producer) are
-- logged and dropped here.
--
-- With a default_analyzer in its config entry the record goes there (Dragonfly's
-- explicit chains); without one, mle.route(msg) sends it through every analyzer
-- that declares its event_type, in their order, and then to the outputs.

function setup()
  print("suricata-filter: routing EVE records to " .. (default_analyzer or "the analyzers by event type"))
end

function loop(msg)
  if msg == nil then return end
  local event_type = msg.event_type
  if event_type == nil then
    dragonfly.log_event({ dropped = "record without event_type", timestamp = msg.timestamp })
    return
  end
  if default_analyzer then
    dragonfly.analyze_event(default_analyzer, msg)
  else
    mle.route(msg, event_type)  -- the type read above: the route need not read it again
  end
end
