# Shared by the overhead benchmarks: start processes side by side, then report each one's
# CPU time and peak RSS as a Markdown table. Sourced; expects $work and $bin.
pids=()
names=()

start() { # name, command...
  local name=$1; shift
  "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  names+=("$name")
}

free_port() { # a TCP port on 127.0.0.1 nothing listens on now
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

hostwatch_agent() { # name, config text
  mkdir -p "$work/$1"
  printf '%s\n' "$2" >"$work/$1/config.toml"
  # As at its defaults, with the server on and no client, each on a port of its own.
  if ! grep -q '^\[server\]' "$work/$1/config.toml"; then
    printf '[server]\nlisten = "127.0.0.1:%s"\n' "$(free_port)" >>"$work/$1/config.toml"
  fi
  start "$1" "$bin" --config "$work/$1/config.toml" --data-dir "$work/$1/data" run
}

report() { # seconds the processes ran
  local secs=$1
  echo "| process | CPU s in ${secs} s | % of one core | peak RSS MB |"
  echo "|---|---|---|---|"
  for i in "${!pids[@]}"; do
    pid=${pids[$i]}
    if [ ! -r "/proc/$pid/stat" ]; then echo "| ${names[$i]} | exited early: $(tail -1 "$work/${names[$i]}.log") | | |"; continue; fi
    # CPU time in ns, summed over the process's threads (schedstat is exact; utime and
    # stime tick in 10 ms steps, too coarse for agents this light).
    ns=$(cat /proc/"$pid"/task/*/schedstat | awk '{ s += $1 } END { print s }')
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    awk -v n="${names[$i]}" -v ns="$ns" -v s="$secs" -v kb="$hwm" \
      'BEGIN { printf "| %s | %.3f | %.3f%% | %.1f |\n", n, ns / 1e9, 100 * ns / 1e9 / s, kb / 1024 }'
  done
}
