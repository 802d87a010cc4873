"""The student process: runs a submission's code cells, then answers calls with plain data. Nothing else.

Started by `sandbox.StudentProcess` as `python -I -S child.py FD_IN FD_OUT` (inside `unshare` when the grader
is root). It imports nothing from toynet's grader and never sees tests or expected values: it receives code
cells (run one top-level statement at a time, each announced, so the grader can stop and skip just the one
that hangs), then serves the grader's requests on its namespace and objects (serve.py: names, attributes,
items, calls; handles for what is not data, callbacks into the running test). Whatever the student's code
does to this process (monkeypatching, exiting, looping, crashing) can only spoil its own answers.

Sandbox set-up, in order: join the submission's cgroups (config "cgroups", while still root); then, when
started as root inside new namespaces (config "root"), build a root of its own
on an empty tmpfs from the grader's allowlist (read-only binds of the Python runtime, numpy and the student's
toynet; private size-limited tmpfs for /sandbox, /tmp and /dev/shm; a few /dev nodes; a fresh /proc), then
pivot_root into it and detach the old root, so nothing else of the machine is reachable. Then, in every mode:
resource limits, a switch to the submission's own unprivileged uid (config "user") with no way back, and a
seccomp filter that refuses new namespaces (a user namespace would make the student root of a world of its own).
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


MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18
)
MNT_DETACH = 2
PR_SET_NO_NEW_PRIVS = 38
PR_SET_PDEATHSIG = 1
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 217}


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _mount(libc, source, target, fstype, flags, data=None):
    def encode(text):
        return None if text is None else os.fsencode(text)

    if libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)) != 0:
        import ctypes

        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


def _build_root(root, work, user):
    """Make `work`/.root an allowlisted root (module doc) and pivot into it; the old root is detached."""
    libc = _libc()
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)  # nothing below propagates back to the grader
    new = os.path.join(work, ".root")
    os.mkdir(new, 0o755)
    _mount(libc, "tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    size, uid, gid = root["scratch"], user[0] if user else 0, user[1] if user else 0

    def place(inside, folder):
        target = new + inside
        if folder:
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "a").close()
        return target

    def bind(host, inside, read_only=True):
        target = place(inside, os.path.isdir(host))
        _mount(libc, host, target, None, MS_BIND)  # not MS_REC: mounts below `host` stay out of view
        if read_only:
            _mount(libc, None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)

    def scratch(inside, mode):  # a private tmpfs the student owns, `size` bytes at most
        options = f"mode={mode},uid={uid},gid={gid},size={size}"
        _mount(libc, "tmpfs", place(inside, True), "tmpfs", MS_NOSUID | MS_NODEV, options)

    home = "/sandbox"
    scratch(home, "0700")
    for host, inside in root["mounts"]:
        bind(host, inside)
    for inside in root["empty"]:
        _mount(libc, "tmpfs", place(inside, True), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "mode=0755,size=4k")
    scratch("/tmp", "1777")
    _mount(libc, "tmpfs", place("/dev", True), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k")
    for device in root["devices"]:
        bind(device, device, read_only=False)
    for name, target in {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
                         "stderr": "/proc/self/fd/2"}.items():
        os.symlink(target, f"{new}/dev/{name}")
    scratch("/dev/shm", "1777")
    _mount(libc, "proc", place("/proc", True), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for link, target in root["links"].items():
        if not os.path.lexists(new + link):
            os.symlink(target, new + link)
    import platform

    os.chdir(new)
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is not None and libc.syscall(number, b".", b".") == 0:
        if libc.umount2(b".", MNT_DETACH) != 0:  # the old root, now stacked on "/": gone from this namespace
            raise OSError("could not detach the old root")
    else:
        os.chroot(".")  # an unprivileged uid cannot leave a chroot; mountinfo names more, but none is reachable
    os.chdir("/")
    _mount(libc, None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return home


# A seccomp filter that refuses new namespaces: root inside a user namespace of its own could mount a tmpfs
# without a size limit and reaches far more of the kernel. Per architecture: its audit number and the numbers
# of unshare, setns, clone and clone3.
SECCOMP_ARCH = {"x86_64": (0xC000003E, 272, 308, 56, 435), "aarch64": (0xC00000B7, 97, 268, 220, 435)}
CLONE_NEW_ANY = 0x20000 | 0x80 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2


def _forbid_namespaces(libc):
    """Install the filter (after no_new_privs); a note when this machine's architecture has no table here."""
    import ctypes
    import platform

    numbers = SECCOMP_ARCH.get(platform.machine())
    if numbers is None:
        return f"new namespaces are not refused on {platform.machine()}"
    arch, unshare, setns, clone, clone3 = numbers
    load, equal, at_least, any_bit, give = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, refuse, absent = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38  # ALLOW, ERRNO(EPERM), ERRNO(ENOSYS)
    program = [
        (load, 0, 0, 4),  # 0: the calling convention's architecture
        (equal, 0, 9, arch),  # 1: another one (x86's 32-bit entry, say): refused outright
        (load, 0, 0, 0),  # 2: the system call's number
        (at_least, 7, 0, 0x40000000),  # 3: x32 numbers: refused
        (equal, 6, 0, unshare),  # 4
        (equal, 5, 0, setns),  # 5
        (equal, 5, 0, clone3),  # 6: its flags are out of the filter's reach: ENOSYS, and glibc falls back to clone
        (equal, 0, 2, clone),  # 7
        (load, 0, 0, 16),  # 8: clone's flags (the low half of its first argument)
        (any_bit, 1, 0, CLONE_NEW_ANY),  # 9
        (give, 0, 0, allow),  # 10
        (give, 0, 0, refuse),  # 11
        (give, 0, 0, absent),  # 12
    ]

    class Instruction(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Instruction))]

    instructions = (Instruction * len(program))(*[Instruction(*step) for step in program])
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(Program(len(program), instructions)), 0, 0):
        raise OSError(ctypes.get_errno(), "could not install the seccomp filter")
    return None


def _sandbox(config):
    """Confine this process as the grader asked (module doc); returns notes on anything not applied."""
    import resource

    notes: list = []
    libc = _libc()  # loaded now: after the switch of user the standard library may be out of reach
    for procs in config.get("cgroups", []):  # first, as root: every process the submission starts is inside
        with open(procs, "w") as joined:
            joined.write("0")
    home = config.get("home", config["workdir"])
    if config.get("root") is not None:
        home = _build_root(config["root"], config["workdir"], config.get("user"))
    for name, value in config.get("rlimits", {}).items():
        limit = getattr(resource, "RLIMIT_" + name)
        resource.setrlimit(limit, (value, value))
    user = config.get("user")
    if os.getuid() == 0 and user:
        os.setgroups([])
        os.setgid(user[1])
        os.setuid(user[0])
        if os.getuid() == 0 or os.geteuid() == 0 or os.getgid() == 0:
            raise SystemExit("could not drop root privileges")
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        note = _forbid_namespaces(libc)
        if note:
            notes.append(note)
        # A change of user clears the parent-death signal `unshare --kill-child` set: set it again, so this
        # process (the PID namespace's init: all the submission's processes with it) dies with the grader.
        libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    os.chdir(home)
    os.environ["HOME"] = home
    os.umask(0o077)
    return notes


def _short_traceback(error, limit=12):
    from serve import short_traceback

    return short_traceback(error, limit)


def _discard_figures():
    """Figures a cell drew are discarded (nothing shows them); matplotlib is touched only if the cell imported it."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        try:
            pyplot.close("all")
        except BaseException:  # the student's code may have replaced it
            pass


def _prepare_matplotlib(config):
    """On matplotlib's first import only: MPLCONFIGDIR in the private /tmp, seeded with the grader's font list
    (no submission rebuilds it). A finder that finds nothing, first on sys.meta_path, sees the import begin."""

    class FirstImport:
        def find_spec(self, name, path=None, target=None):
            if name == "matplotlib":
                sys.meta_path.remove(self)
                _seed_matplotlib(config.get("font_cache"))
            return None

    sys.meta_path.insert(0, FirstImport())


def _seed_matplotlib(fonts):
    import tempfile

    try:  # a fresh folder of its own (mode 0700): where /tmp is shared, no classmate's matplotlibrc is read
        folder = tempfile.mkdtemp(prefix="matplotlib-")
        os.environ["MPLCONFIGDIR"] = folder
        if fonts:
            with open(fonts[0], "rb") as source, open(os.path.join(folder, fonts[1]), "wb") as target:
                target.write(source.read())
    except OSError:  # the student's code filled /tmp: matplotlib makes do
        pass


def _run_cell(number, source, skip, namespace, send, index):
    """Run a cell one top-level statement at a time, as the grader asked; the first error ends the cell.

    Each statement is announced first, so a statement that hangs or kills the process is stopped and skipped
    on its own: the definitions before and after it in the same cell survive (Jupyter would lose them all).
    """
    import ast

    filename = f"<cell {number}>"
    try:
        tree = ast.parse(source, filename)  # the grader turned magics into Python (magics.py)
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
        finally:
            _discard_figures()
    return None


def main():
    fd_in, fd_out = int(sys.argv[1]), int(sys.argv[2])
    lines = _Lines(fd_in)
    config = json.loads(lines.read())
    notes = _sandbox(config)
    sys.path[:0] = config["sys_path"]
    sys.dont_write_bytecode = True  # `-I` ignores PYTHONDONTWRITEBYTECODE
    import protocol  # the copies beside this file: stdlib + numpy only
    from serve import Server

    def write(data):
        view = memoryview(data)
        while view:
            view = view[os.write(fd_out, view):]

    def send(message):
        write(protocol.dumps(message))

    send({"event": "sandbox", "notes": notes, "uid": os.getuid()})
    _prepare_matplotlib(config)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}

    def get_ipython():
        """The notebook's `get_ipython()` (magics arrive as its calls): the IPython shim's small shell, imported
        on first use (an untouched `IPython` keeps matplotlib and tqdm on their plain-Python paths)."""
        from IPython import get_ipython as shell

        shell().user_ns = namespace
        return shell()

    namespace["get_ipython"] = get_ipython
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
    Server(namespace, lines.read, write).loop()


if __name__ == "__main__":
    main()
