-- Who claimed a checklist slot: "boot id:pid namespace:uid:pid:start time" of the process
-- that runs the job (the agent, or `hostwatch load run`), the start time in clock ticks
-- since boot as /proc/PID/stat gives it, so a pid reused after the process died names
-- another process. A claim left unfinished (finished_ms NULL) whose owner ended (another
-- boot, or its pid gone or restarted, seen from its own pid namespace and user) was killed
-- midway: it holds back no load test. An owner another namespace or user cannot see counts
-- as under way for the longest job's time. Claims made before this column existed have none (NULL) and
-- count as under way for the longest job's time, as before.
ALTER TABLE check_runs ADD COLUMN owner TEXT;
