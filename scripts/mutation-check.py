#!/usr/bin/env python3
"""Mutation check of the process slot's state machine: flips transitions of
core/src/pod/process_slot.cpp one at a time, rebuilds the unit tests in BUILD (default
build/test, configured by `make test`) and shows which tests fail; the file is restored after.
A mutation no test catches is printed as SURVIVED and makes the exit status 1."""
import os, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = sys.argv[1] if len(sys.argv) > 1 else "build/test"
src = os.path.join(root, "core/src/pod/process_slot.cpp")
orig = open(src).read()
mutations=[
 ("the old process's exit lets the successor go -> restart instead",
  "            } else if (e.kind == kind::exited && has_successor) {",
  "            } else if (e.kind == kind::exited && has_successor && false) {"),
 ("a clean retiring exit leaves the slot spare -> to retire",
  "                    slot.state = state::spare;\n                    slot.quick_deaths = 0;",
  "                    slot.state = state::to_retire;\n                    slot.quick_deaths = 0;"),
 ("a quarantined message restarts the backoff -> ignored",
  "now - slot.started >= policy.healthy_uptime || quarantined ? 1",
  "now - slot.started >= policy.healthy_uptime ? 1"),
 ("a to-retire process is told once connected -> never",
  "                    slot.state = state::retiring;\n                    act.push_back(send(order::retire));\n                }\n            } else if (e.kind == kind::exited && slot.pid > 0 && has_successor) {",
  "                    slot.state = state::retiring;\n                }\n            } else if (e.kind == kind::exited && slot.pid > 0 && has_successor) {"),
 ("a process told to hand over is not the one to end the session -> it is",
  "s == state::to_retire && !has_successor && !slot.keeps_session",
  "s == state::to_retire && !has_successor"),
 ("the old process is told to go only once the successor is ready -> at once",
  "                slot.state = state::replacing;\n                act.push_back(of(slot_action_kind::spawn_successor));",
  "                slot.state = state::replacing;\n                act.push_back(of(slot_action_kind::spawn_successor));\n                act.push_back(send(order::hand_over));"),
]
survived = 0
try:
    for name, before, after in mutations:
        assert orig.count(before) == 1, "the code moved: " + name
        open(src, "w").write(orig.replace(before, after))
        r = subprocess.run(
            f"cmake --build {build} --target routemq_unit_tests -j2 >/dev/null 2>&1 && "
            f"{build}/tests/routemq_unit_tests --gtest_filter='ProcessSlot.*:Supervisor.*' "
            "--gtest_brief=1 2>&1 | grep '^\\[  FAILED  \\] [A-Z]' | sort -u",
            shell=True, cwd=root, capture_output=True, text=True)
        failed = sorted({line.split()[3] for line in r.stdout.splitlines()})
        survived += 0 if failed else 1
        print(f"{name}: " + (f"caught by {', '.join(failed)}" if failed else "SURVIVED"),
              flush=True)
finally:
    open(src, "w").write(orig)
sys.exit(1 if survived else 0)
