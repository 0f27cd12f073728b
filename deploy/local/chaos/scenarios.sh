# The fault scenarios of deploy/local/chaos.sh, one function each. Each
# brings up a fresh environment (env_up), runs load plus one fault, and ends
# with finish, which asserts and records the result. Every wait is bounded.

# 1. Every notification POST arrives 20 times while mail flows.
scenario_1() {
  local name="duplicate storm" fault="duplicateNotifications=20 during load"
  env_up 1 || { fail_setup 1 "$name" "$fault"; return; }
  faults '{"reset":true,"duplicateNotifications":20}'
  inject 1 60 4
  faults '{"reset":true}'
  local end
  end=$(now)
  finish 1 "$name" "$fault" "$end" 90
}

# 2. Redis SIGKILLed under load, restarted 5 s later from its AOF.
scenario_2() {
  local name="Redis kill -9" fault="SIGKILL of Redis under load (Graph latency 300 ms, tasks in flight), restart from AOF after 5 s"
  env_up 2 || { fail_setup 2 "$name" "$fault"; return; }
  # Graph latency keeps message tasks in flight, so that the kill hits
  # tasks in asynq's active list and a backlog in pending.
  faults '{"reset":true,"latencyMs":300}'
  inject_bg 2 100 4
  sleep 8
  local active pending note
  active=$(rcli llen 'asynq:{critical}:active')
  pending=$(rcli llen 'asynq:{critical}:pending')
  kill_redis
  sleep 5
  redis_up || { fail_setup 2 "$name" "$fault"; return; }
  local end
  end=$(now)
  note=" $active message task(s) active and $pending pending at the kill; $(grep -c 'enqueue failed' "$SD/web.log" || true) webhook 503s;"
  wait "$INJ_PID" || true
  faults '{"reset":true}'
  # A task whose completion could not be acknowledged stays in active until
  # asynq's recoverer (lease 30 s + 30 s margin, runs every minute) retries it.
  DRAIN=180 finish 2 "$name" "$fault" "$end" 180 "$note"
}

# 3. PostgreSQL stopped (fast) for 30 s under load.
scenario_3() {
  local name="PostgreSQL down 30 s" fault="pg_ctl stop -m fast, start 30 s later, under load"
  env_up 3 || { fail_setup 3 "$name" "$fault"; return; }
  inject_bg 3 140 4
  sleep 5
  pg_stop_fast
  local t_stop
  t_stop=$SECONDS
  sleep 30
  pg_start
  local end note
  end=$(now)
  wait "$INJ_PID" || true
  note=" webhook answers while the database was down: $(grep -c 'enqueue failed' "$SD/web.log" || true) 503s;"
  finish 3 "$name" "$fault" "$end" 200 "$note"
}

# 4. The worker process SIGKILLed while message tasks are active; restarted at once.
scenario_4() {
  local name="worker kill -9" fault="kill -9 of the worker with tasks active (Graph latency 700 ms), restart"
  env_up 4 || { fail_setup 4 "$name" "$fault"; return; }
  faults '{"reset":true,"latencyMs":700}'
  inject_bg 4 60 4
  local i active=0
  for ((i = 0; i < 100; i++)); do
    active=$(rcli llen 'asynq:{critical}:active')
    [ "$active" -ge 3 ] && break
    sleep 0.1
  done
  kill -KILL "$WRK_PID"
  wait "$WRK_PID" 2>/dev/null || true
  sleep 1
  start_worker || { fail_setup 4 "$name" "$fault"; return; }
  local end note
  end=$(now)
  wait "$INJ_PID" || true
  faults '{"reset":true}'
  note=" $active message task(s) active at the kill;"
  finish 4 "$name" "$fault" "$end" 240 "$note"
}

# 5. Every 2nd Graph request answers 429 with Retry-After 2 s.
scenario_5() {
  local name="429 storm" fault="throttleEveryN=2, retryAfterSeconds=2 during load"
  env_up 5 || { fail_setup 5 "$name" "$fault"; return; }
  faults '{"reset":true,"throttleEveryN":2,"retryAfterSeconds":2}'
  inject 5 60 4
  local note
  note=" Graph 429s answered: $(sim GET /_sim/state | jq -c '.requests.byStatus["429"] // 0');"
  faults '{"reset":true}'
  local end
  end=$(now)
  finish 5 "$name" "$fault" "$end" 120 "$note"
}

# 6. 20 notifications dropped, each drop followed by a "missed" lifecycle event.
scenario_6() {
  local name="dropped + missed" fault="dropNotifications=20, missedAfterDrop=true"
  env_up 6 || { fail_setup 6 "$name" "$fault"; return; }
  faults '{"reset":true,"dropNotifications":20,"missedAfterDrop":true}'
  inject 6 60 4
  faults '{"reset":true}'
  local end
  end=$(now)
  finish 6 "$name" "$fault" "$end" 120
}

# 7. The connector down for longer than a subscription lives (8 days), mail
# arriving meanwhile. The simulator's clock cannot move the connector's, and
# a subscription Graph lets lapse is simply gone: so the subscriptions are
# removed at the simulator (as the lapse would) and the connector's own state
# is aged by 8 days; both clocks keep agreeing, as they do in production.
scenario_7() {
  local name="down 8 days" fault="connector stopped, mail arrives, subscriptions lapse, state aged 8d, connector started"
  env_up 7 || { fail_setup 7 "$name" "$fault"; return; }
  inject 7 12 4
  wait_complete 7 30 >/dev/null || true
  stop_pid "$WEB_PID" 30
  stop_pid "$WRK_PID" 30
  # While the connector is down Graph's notifications fail; Graph gives up
  # after 4 h. The simulator drops them outright (no "missed" event).
  faults '{"reset":true,"dropNotifications":-1}'
  inject 7 24 4
  faults '{"reset":true}'
  local mbx
  for mbx in $(q "SELECT mailbox_norm FROM employees WHERE mailbox_norm IS NOT NULL AND active"); do
    sim POST /_sim/lifecycle "{\"mailbox\":\"$mbx\",\"event\":\"subscriptionRemoved\"}" >/dev/null || true
  done
  local subs_gone
  subs_gone=$(sim_subscriptions)
  # The simulator's clock cannot move the connector's wall clock; age what
  # the connector keeps by the same 8 days instead, as a real 8-day outage
  # would: the stored subscription expiry and last sync lie 8 days back, and
  # asynq's retained periodic tasks (Retention 10 min) have expired.
  q "UPDATE subscriptions SET expires_at = expires_at - interval '8 days', updated_at = updated_at - interval '8 days', created_at = created_at - interval '8 days';
     UPDATE mailbox_states SET last_sync_at = last_sync_at - interval '8 days' WHERE last_sync_at IS NOT NULL;" >/dev/null
  local qn id
  for qn in critical default low; do
    for id in $(rcli zrange "asynq:{$qn}:completed" 0 -1); do rcli del "asynq:{$qn}:t:$id" >/dev/null; done
    rcli del "asynq:{$qn}:completed" >/dev/null
  done
  start_web || { fail_setup 7 "$name" "$fault"; return; }
  start_worker || { fail_setup 7 "$name" "$fault"; return; }
  local end
  end=$(now)
  inject 7 12 4
  local subs_now note
  wait_complete 7 90 >/dev/null || true
  subs_now=$(sim_subscriptions)
  note=" subscriptions at the simulator after the lapse: $subs_gone, after the restart: $subs_now;"
  [ "$subs_now" = "$ENABLED_MAILBOXES" ] || note+=" SUBSCRIPTIONS NOT RECREATED;"
  finish 7 "$name" "$fault" "$end" 30 "$note"
  if [ "$subs_now" != "$ENABLED_MAILBOXES" ]; then sed -i '$ s/\tPASS\t/\tFAIL\t/' "$CH/results.tsv"; fi
}

# ------------------------------------------------- delivery as Graph does it
# Scenarios 8–12 switch on the simulator's delivery knobs (graphsim
# delivery.go): Graph's latency, duplicates, the Sent Items copy that 404s
# for a while, and its 4-hour retry schedule when our endpoint fails.
# timeScale compresses Graph's durations so that a run takes seconds.

# 8. Each notification late by 20 s to 3 min (Graph's documented range,
# compressed 10-fold: 2–18 s), so that they also arrive out of order.
scenario_8() {
  local name="latency + reordering" fault="notifyLatency=20s-3m (random per notification, so reordered), timeScale=0.1"
  env_up 8 || { fail_setup 8 "$name" "$fault"; return; }
  faults '{"reset":true,"notifyLatency":"20s-3m","timeScale":0.1}'
  inject 8 60 4
  local end
  end=$(now)
  # The latency stays on until the last held notification went out.
  finish 8 "$name" "$fault" "$end" 60
}

# 9. Half of the notifications delivered a second time, in a POST of their
# own, up to 30 s later (3 s compressed): often after the first copy's task
# has completed, so that the task ID no longer collapses them.
scenario_9() {
  local name="duplicates, late" fault="duplicateRate=0.5, duplicateDelay=0s-30s, notifyLatency=0s-10s, timeScale=0.1"
  env_up 9 || { fail_setup 9 "$name" "$fault"; return; }
  faults '{"reset":true,"duplicateRate":0.5,"duplicateDelay":"0s-30s","notifyLatency":"0s-10s","timeScale":0.1}'
  inject 9 60 4
  local end
  end=$(now)
  finish 9 "$name" "$fault" "$end" 60
}

# 10. Sent mail: the Sent Items copy is notified at once but answers 404
# for 20 s to 100 s (random per mail, real time); the message task backs
# off (10 s, 20 s, 30 s, 1 min, 2 min, …) until it can read it. A task that
# gave up after a minute (the schedule before issue 13) lost about half of
# them until the 30-minute sweep.
scenario_10() {
  local name="Sent Items copy 404s" fault="notFoundAfterCreated=20s-100s in sentitems, outbound mails"
  env_up 10 || { fail_setup 10 "$name" "$fault"; return; }
  faults '{"reset":true,"notFoundAfterCreated":"20s-100s","notFoundFolders":["sentitems"]}'
  INJ_FOLDER=sentitems inject 10 40 4
  local end note
  end=$(now)
  note=" messages that answered 404 first: $(sim GET /_sim/state | jq -c '.notifications.notFoundAfterCreated');"
  DRAIN=240 finish 10 "$name" "$fault" "$end" 240 "$note"
}

# 11. The web role down for 20 s under load: Graph retries the failed
# POSTs on its exponential schedule (10 min, 20 min, 40 min, … up to 4 h,
# compressed 500-fold: 1.2 s, 2.4 s, … 28.8 s), and they arrive after the
# restart.
scenario_11() {
  local name="endpoint down, Graph retries" fault="web role stopped 20 s; retryWindow=4h, timeScale=0.002"
  env_up 11 || { fail_setup 11 "$name" "$fault"; return; }
  faults '{"reset":true,"retryWindow":"4h","timeScale":0.002}'
  inject_bg 11 80 4
  sleep 5
  stop_pid "$WEB_PID" 30
  sleep 20
  start_web || { fail_setup 11 "$name" "$fault"; return; }
  local end note
  end=$(now)
  wait "$INJ_PID" || true
  note=" the simulator's retries: $(sim GET /_sim/state | jq -c '{retries: .notifications.retries, failed: .notifications.failed}');"
  DRAIN=90 finish 11 "$name" "$fault" "$end" 90 "$note"
}

# 12. The web role down for longer than Graph retries (4 h, compressed
# 1,000-fold to 14.4 s): the notifications are dropped; Graph then reports
# "missed" (retried in turn until the endpoint is back), and the delta sync
# it triggers stores the dropped mail.
scenario_12() {
  local name="endpoint down > 4 h" fault="web role stopped 25 s; retryWindow=4h, timeScale=0.001, missedAfterDrop"
  env_up 12 || { fail_setup 12 "$name" "$fault"; return; }
  faults '{"reset":true,"retryWindow":"4h","timeScale":0.001,"missedAfterDrop":true}'
  inject_bg 12 60 4
  sleep 3
  stop_pid "$WEB_PID" 30
  sleep 25
  start_web || { fail_setup 12 "$name" "$fault"; return; }
  local end note
  end=$(now)
  wait "$INJ_PID" || true
  note=" the simulator: $(sim GET /_sim/state | jq -c '.notifications | {retries, failed, lifecycleDelivered, lifecycleFailed}');"
  DRAIN=120 finish 12 "$name" "$fault" "$end" 120 "$note"
}
