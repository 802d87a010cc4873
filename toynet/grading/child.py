"""The student process: runs a submission's code cells, then answers calls with plain data. Nothing else.

Started by `sandbox.StudentProcess` as `python -I -S child.py FD_IN FD_OUT` (inside `unshare` when the grader
is root). It imports nothing from toynet's grader and never sees tests or expected values: it receives code
cells (run one top-level statement at a time, each announced, so the grader can stop and skip just the one
that hangs), then requests {"call": "Linear.backward", "args": [...], "kwargs": {...}} and answers each with
{"ok": true, "value": ...} or {"ok": false, "error": "..."}. Whatever the student's code does to this
process (monkeypatching, exiting, looping, crashing) can only spoil its own answers.

Sandbox set-up, in order, when started as root: expose the Python install and its site-packages where an
ancestor is private (e.g. a checkout under /root), hide the grader's folders under empty read-only tmpfs
mounts, set resource limits, drop to an unprivileged user.
"""

import json
import os
import sys


class _Lines:
    """Lines from a pipe, read in chunks (a byte at a time would cost a system call per byte)."""

    def __init__(self, fd):
        self.fd, self.buffer = fd, bytearray()

    def read(self):
        """The next line without its newline; b"" once the grader has closed the pipe."""
        while (end := self.buffer.find(b"\n")) < 0:
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return b""
            self.buffer += chunk
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 1]
        return line


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


def _run_cell(number, source, skip, namespace, send, index):
    """Run a cell one top-level statement at a time, as the grader asked; the first error ends the cell.

    Each statement is announced first, so a statement that hangs or kills the process is stopped and skipped
    on its own: the definitions before and after it in the same cell survive (Jupyter would lose them all).
    """
    import ast

    filename = f"<cell {number}>"
    try:
        tree = ast.parse(_strip_magics(source), filename)
    except BaseException as caught:  # SyntaxError, or a parser overwhelmed (MemoryError, RecursionError)
        return _short_traceback(caught)
    for statement, node in enumerate(tree.body):
        if statement in skip:
            continue
        send({"event": "statement", "index": index, "statement": statement})
        try:
            exec(compile(ast.Module([node], type_ignores=[]), filename, "exec"), namespace)
        except BaseException as caught:  # SystemExit and KeyboardInterrupt too: one cell must not end the run
            return _short_traceback(caught)
    return None


def _resolve(namespace, name):
    target = namespace[name.split(".")[0]]
    for attribute in name.split(".")[1:]:
        target = getattr(target, attribute)
    return target


def main():
    fd_in, fd_out = int(sys.argv[1]), int(sys.argv[2])
    lines = _Lines(fd_in)
    config = json.loads(lines.read())
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
    skip: dict = {}
    for index, statement in config.get("skip", []):
        skip.setdefault(index, set()).add(statement)
    for index, (number, source) in enumerate(config["cells"]):
        if -1 in skip.get(index, ()):
            continue
        send({"event": "start", "index": index})
        error = _run_cell(number, source, skip.get(index, set()), namespace, send, index)
        try:
            send({"event": "cell", "index": index, "error": error})
        except BaseException:  # the student's code broke json or the protocol module: a plain report
            send({"event": "cell", "index": index, "error": "the cell's error could not be reported"})
    send({"event": "ready"})
    while True:
        line = lines.read()
        if not line:
            return
        try:
            request = protocol.loads(line)
        except protocol.ProtocolError as error:  # the grader's own limits: say so rather than die
            send({"ok": False, "error": f"the grader's request was refused: {error}"})
            continue
        try:
            target = _resolve(namespace, request["call"])
        except (KeyError, AttributeError):
            send({"ok": False, "error": f"NameError: {request['call']} is not defined in the notebook"})
            continue
        except BaseException as caught:  # a class whose attribute lookup raises something else
            send({"ok": False, "error": _short_traceback(caught)})
            continue
        try:
            value = target(*request["args"], **request["kwargs"])
        except BaseException as caught:
            send({"ok": False, "error": _short_traceback(caught)})
            continue
        try:
            send({"ok": True, "value": value})
        except BaseException as caught:
            send({"ok": False, "error": f"{type(caught).__name__}: the answer could not be sent: {str(caught)[:300]}"})


if __name__ == "__main__":
    main()
