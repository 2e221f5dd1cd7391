"""A stand-in check server for the client's failure tests: python fake_server.py MODE.

MODE ``ok`` answers every request; ``die`` exits after one answer; ``garbage``
answers non-JSON; ``hang`` never answers; ``error`` answers with an error.
"""

import json
import sys

mode = sys.argv[1]
for count, line in enumerate(sys.stdin):
    request = json.loads(line)
    if mode == "hang":
        continue
    if mode == "garbage":
        print("this is not json", flush=True)
        continue
    if mode == "error":
        print(json.dumps({"op": request["op"], "error": "no world 'x' yet"}), flush=True)
        continue
    if request["op"] == "state":
        reply = {"op": "state", "state": {"world": "x", "namespaces": {}, "taken_at": count}}
    else:
        reply = {"op": "check", "report": {"lesson": request["lesson"], "milestones": []}}
    print(json.dumps(reply), flush=True)
    if mode == "die":
        sys.exit(3)
