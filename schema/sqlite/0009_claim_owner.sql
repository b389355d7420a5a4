-- Who claimed a checklist slot: "boot id:pid:start time" of the process that runs the job
-- (the agent, or `hostwatch load run`), the start time in clock ticks since boot as
-- /proc/PID/stat gives it, so a pid reused after the process died names another process.
-- A claim left unfinished (finished_ms NULL) whose owner no longer runs was killed midway:
-- it holds back no load test. Claims made before this column existed have none (NULL) and
-- count as under way for the longest job's time, as before.
ALTER TABLE check_runs ADD COLUMN owner TEXT;
