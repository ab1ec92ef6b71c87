"""Run by test_durability in a subprocess that the test kills with SIGKILL.

Modes:
  add DB          add episodes forever, printing each acknowledged id (flushed)
  consolidate DB  add 300 episodes, then consolidate with a store that sleeps inside the
                  transaction; prints APPLYING once the transaction has started writing
"""

from __future__ import annotations

import sys
import time

from rlm_toolkit.memory import HierarchicalMemory, SQLiteStore


class SlowStore(SQLiteStore):
    """Sleeps on each parent update, so consolidation spends seconds inside its transaction."""

    announced = False

    def update_node(self, node_id: int, **fields: object) -> None:
        super().update_node(node_id, **fields)
        if "parent_id" in fields:
            if not self.announced:
                self.announced = True
                print("APPLYING", flush=True)
            time.sleep(0.01)


def main() -> None:
    mode, db = sys.argv[1], sys.argv[2]
    if mode == "add":
        mem = HierarchicalMemory(path=db)
        i = 0
        while True:
            eid = mem.add_episode(f"Episode {i}: user {i % 13} mentioned topic {i % 29} and item {i}")
            print(f"ACK {i} {eid}", flush=True)
            i += 1
    else:
        mem = HierarchicalMemory(store=SlowStore(db))
        mem.add_episodes(f"Note {i}: project {i % 17} uses tool {i % 5} for case {i}" for i in range(300))
        print("ADDED", flush=True)
        mem.consolidate()
        print("DONE", flush=True)


if __name__ == "__main__":
    main()
