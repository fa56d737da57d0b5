-- Input script: pass every Suricata EVE record to the default analyzer.
--
-- loop() receives each decoded record, or nil for a line that was not valid
-- JSON (MLE has already counted it and written it to the dead-letter file).
-- Records without an event_type (a corrupted line, a non-EVE producer) are
-- logged and dropped here.

function setup()
  print("suricata-filter: routing EVE records to " .. tostring(default_analyzer))
end

function loop(msg)
  if msg == nil then return end
  if msg.event_type == nil then
    dragonfly.log_event({ dropped = "record without event_type", timestamp = msg.timestamp })
    return
  end
  dragonfly.analyze_event(default_analyzer, msg)
end
