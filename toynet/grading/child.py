"""The student process: runs a submission's code cells, then answers calls with plain data. Nothing else.

Started by `sandbox.StudentProcess` as `python -I -S child.py FD_IN FD_OUT` (inside `unshare` when the grader
is root). It imports nothing from toynet's grader and never sees tests or expected values: it receives code
cells, then requests {"call": "Linear.backward", "args": [...], "kwargs": {...}} and answers each with
{"ok": true, "value": ...} or {"ok": false, "error": "..."}. Whatever the student's code does to this
process (monkeypatching, exiting, looping, crashing) can only spoil its own answers.

Sandbox set-up, in order, when started as root: expose the Python install and its site-packages where an
ancestor is private (e.g. a checkout under /root), hide the grader's folders under empty read-only tmpfs
mounts, set resource limits, drop to an unprivileged user.
"""

import json
import os
import sys
from typing import Any


def _read_line(fd):
    chunks: list = []
    while True:
        byte = os.read(fd, 1)
        if not byte or byte == b"\n":
            return b"".join(chunks)
        chunks.append(byte)


def _mount(*args):
    import subprocess

    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _expose(paths, stage):
    """Make each of `paths` reachable by other users, however many share a private ancestor (e.g. /root).

    Each private ancestor is re-rooted as a tmpfs that holds only the wanted paths, bind-mounted back in place
    (staged first, since the tmpfs covers the originals). Returns the paths that could not be exposed.
    """
    plan: dict[str, list[str]] = {}  # first private ancestor -> the paths below it to keep reachable
    for path in paths:
        real = os.path.realpath(path)
        parts = real.split(os.sep)[1:]
        for depth in range(1, len(parts)):
            ancestor = os.sep + os.path.join(*parts[:depth])
            if not os.stat(ancestor).st_mode & 0o001:
                plan.setdefault(ancestor, []).append(real)
                break
    failed = []
    for number, (ancestor, targets) in enumerate(plan.items()):
        staged = []
        for index, target in enumerate(targets):
            place = os.path.join(stage, f"{number}-{index}")
            os.makedirs(place, exist_ok=True)
            if _mount("--bind", target, place):
                staged.append((target, place))
            else:
                failed.append(target)
        if not _mount("-t", "tmpfs", "-o", "mode=0755,size=64k", "tmpfs", ancestor):
            return failed + [target for target, _ in staged]
        for target, place in staged:
            os.makedirs(target, mode=0o755, exist_ok=True)
            if not _mount("--bind", place, target):
                failed.append(target)
    return failed


def _sandbox(config):
    """Apply the limits the grader asked for; returns notes on anything that could not be applied."""
    import resource

    notes = []
    if os.getuid() == 0:
        for path in _expose(config.get("expose", []), os.path.join(config["workdir"], ".stage")):
            notes.append(f"could not expose {path}")
        for path in config.get("hide", []):
            if os.path.isdir(path) and not _mount("-t", "tmpfs", "-o", "ro,mode=000,size=4k", "tmpfs", path):
                notes.append(f"could not hide {path}")
    for name, value in config.get("rlimits", {}).items():
        limit = getattr(resource, "RLIMIT_" + name)
        resource.setrlimit(limit, (value, value))
    user = config.get("user")
    if os.getuid() == 0 and user:
        os.setgroups([])
        os.setgid(user[1])
        os.setuid(user[0])
        if os.getuid() == 0 or os.geteuid() == 0:
            raise SystemExit("could not drop root privileges")
    os.chdir(config["workdir"])
    os.umask(0o077)
    return notes


def _strip_magics(source):
    """IPython magics and shell escapes are not Python: comment them out."""
    lines = source.splitlines()
    return "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line for line in lines)


def _short_traceback(error, limit=12):
    import traceback

    lines = traceback.format_exception(type(error), error, error.__traceback__)
    keep = [line for line in lines if 'child.py"' not in line]
    text = "".join(keep[-limit:])
    return text[-4000:]


def main():
    fd_in, fd_out = int(sys.argv[1]), int(sys.argv[2])
    config = json.loads(_read_line(fd_in))
    sys.path[:0] = config["sys_path"]
    notes = _sandbox(config)
    import protocol  # the copy beside this file: stdlib + numpy only

    def send(message):
        data = protocol.dumps(message)
        view = memoryview(data)
        while view:
            view = view[os.write(fd_out, view):]

    send({"event": "sandbox", "notes": notes, "uid": os.getuid()})
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    skip = set(config.get("skip", []))
    for index, source in enumerate(config["cells"]):
        if index in skip:
            continue
        send({"event": "start", "index": index})
        error = None
        try:
            code = compile(_strip_magics(source), f"<cell {index + 1}>", "exec")
            exec(code, namespace)
        except BaseException as caught:  # SystemExit and KeyboardInterrupt too: one cell must not end the run
            error = _short_traceback(caught)
        send({"event": "cell", "index": index, "error": error})
    send({"event": "ready"})
    while True:
        line = _read_line(fd_in)
        if not line:
            return
        request = protocol.loads(line)
        target: Any
        try:
            target = namespace[request["call"].split(".")[0]]
            for attribute in request["call"].split(".")[1:]:
                target = getattr(target, attribute)
        except (KeyError, AttributeError):
            send({"ok": False, "error": f"NameError: {request['call']} is not defined in the notebook"})
            continue
        try:
            value = target(*request["args"], **request["kwargs"])
        except BaseException as caught:
            send({"ok": False, "error": _short_traceback(caught)})
            continue
        try:
            send({"ok": True, "value": value})
        except BaseException as caught:
            send({"ok": False, "error": f"{type(caught).__name__}: the answer could not be sent: {caught}"})


if __name__ == "__main__":
    main()
