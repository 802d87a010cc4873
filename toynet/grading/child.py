"""The student process: runs a submission's code cells, then answers calls with plain data. Nothing else.

Started by `sandbox.StudentProcess` as `python -I -S child.py FD_IN FD_OUT` (inside `unshare` when the grader
is root). It imports nothing from toynet's grader and never sees tests or expected values: it receives code
cells (run one top-level statement at a time, each announced, so the grader can stop and skip just the one
that hangs), then serves the grader's requests on its namespace and objects (serve.py: names, attributes,
items, calls; handles for what is not data, callbacks into the running test). Before each cell listed in
config "pauses" it stops (event "pause") and serves requests in the same way until the grader says "resume":
the public tests placed there see the notebook as it stood at that point, as in Jupyter. Whatever the student's code
does to this process (monkeypatching, exiting, looping, crashing) can only spoil its own answers.

Sandbox set-up, in order: join the submission's cgroups (config "cgroups", while still root); then, when
started as root inside new namespaces (config "root"), build a root of its own
on an empty tmpfs from the grader's allowlist (read-only binds of the Python runtime, numpy and the student's
toynet; private size-limited tmpfs for /sandbox, /tmp and /dev/shm; a few /dev nodes; a fresh /proc), then
pivot_root into it and detach the old root, so nothing else of the machine is reachable (config "root"
inside a user namespace of its own when the grader is not root: then every capability is given up once the
root is built, config "drop_capabilities"). Then, in every mode: resource limits, a switch to the submission's
own unprivileged uid (config "user") with no way back, Landlock where the grader asks for it (config
"landlock": what may be read, listed and written), and a seccomp filter that refuses new namespaces (a user
namespace would make the student root of a world of its own), sockets other than Unix ones, SysV IPC, POSIX
message queues, keyrings and io_uring.
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
        if read_only:  # keeping the host mount's own noexec (a user namespace may not clear it: EPERM)
            kept = MS_NOEXEC if os.statvfs(host).f_flag & os.ST_NOEXEC else 0
            _mount(libc, None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | kept)

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


# The seccomp filter, per architecture: its audit number and the numbers of the calls it looks at. Refused
# outright (EPERM): new namespaces (root inside a user namespace of its own could mount a tmpfs without a size
# limit and reaches far more of the kernel), SysV IPC and POSIX message queues (objects that outlive the
# process, outside any folder), keyrings (kept per uid by the kernel), io_uring (its operations, socket
# included, are out of the filter's reach). socket() and socketpair() only for AF_UNIX: no network in any mode.
SECCOMP_ARCH = {
    "x86_64": {"arch": 0xC000003E, "unshare": 272, "setns": 308, "clone": 56, "clone3": 435, "socket": 41,
               "socketpair": 53, "shmget": 29, "semget": 64, "msgget": 68, "mq_open": 240, "add_key": 248,
               "request_key": 249, "keyctl": 250, "io_uring_setup": 425},
    "aarch64": {"arch": 0xC00000B7, "unshare": 97, "setns": 268, "clone": 220, "clone3": 435, "socket": 198,
                "socketpair": 199, "shmget": 194, "semget": 190, "msgget": 186, "mq_open": 180, "add_key": 217,
                "request_key": 218, "keyctl": 219, "io_uring_setup": 425},
}
SECCOMP_REFUSED = ("unshare", "setns", "shmget", "semget", "msgget", "mq_open", "add_key", "request_key", "keyctl",
                   "io_uring_setup")
CLONE_NEW_ANY = 0x20000 | 0x80 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
AF_UNIX = 1
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2


def _seccomp_program(numbers):
    """The filter as (code, jt, jf, k) steps: classic BPF over struct seccomp_data (nr at 0, arch at 4, args at 16).

    Written with labels; jumps (forward only, as BPF wants) are resolved to relative offsets.
    """
    load, equal, at_least, any_bit, give = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, refuse, absent = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38  # ALLOW, ERRNO(EPERM), ERRNO(ENOSYS)
    steps = [
        (load, None, None, 4),  # the calling convention's architecture: another one (x86's 32-bit entry) refused
        (equal, None, "refuse", numbers["arch"]),
        (load, None, None, 0),  # the system call's number
        (at_least, "refuse", None, 0x40000000),  # x32 numbers: refused
        *[(equal, "refuse", None, numbers[name]) for name in SECCOMP_REFUSED],
        (equal, "absent", None, numbers["clone3"]),  # its flags are out of reach: ENOSYS, glibc falls back to clone
        (equal, "clone", None, numbers["clone"]),
        (equal, "family", None, numbers["socket"]),
        (equal, "family", None, numbers["socketpair"]),
        (give, None, None, allow),
        "clone", (load, None, None, 16),  # clone's flags (the low half of its first argument)
        (any_bit, "refuse", None, CLONE_NEW_ANY),
        (give, None, None, allow),
        "family", (load, None, None, 16),  # the address family (socket's first argument)
        (equal, None, "refuse", AF_UNIX),
        (give, None, None, allow),
        "refuse", (give, None, None, refuse),
        "absent", (give, None, None, absent),
    ]
    labels: dict = {}
    program: list = []
    for step in steps:
        if isinstance(step, str):
            labels[step] = len(program)
        else:
            program.append(step)
    return [(code, labels[jt] - n - 1 if jt else 0, labels[jf] - n - 1 if jf else 0, k)
            for n, (code, jt, jf, k) in enumerate(program)]


def _forbid_namespaces(libc):
    """Install the seccomp filter (after no_new_privs); a note when this architecture has no table here."""
    import ctypes
    import platform

    numbers = SECCOMP_ARCH.get(platform.machine())
    if numbers is None:
        return f"new namespaces, sockets, IPC and keyrings are not refused on {platform.machine()}"
    program = _seccomp_program(numbers)

    class Instruction(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Instruction))]

    instructions = (Instruction * len(program))(*[Instruction(*step) for step in program])
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(Program(len(program), instructions)), 0, 0):
        raise OSError(ctypes.get_errno(), "could not install the seccomp filter")
    return None


# Landlock (Linux 5.13+, unprivileged): its three system calls have one number on every architecture.
LANDLOCK_CREATE_RULESET, LANDLOCK_ADD_RULE, LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION, LANDLOCK_RULE_PATH_BENEATH = 1, 1
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1, 2, 4, 8
FS_TRUNCATE, FS_IOCTL_DEV = 1 << 14, 1 << 15
FS_FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV  # all a file's rule may hold
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2


def landlock_abi(libc=None):
    """The Landlock ABI version this kernel offers (0: none, or disabled)."""
    libc = libc or _libc()
    version = libc.syscall(LANDLOCK_CREATE_RULESET, None, 0, LANDLOCK_CREATE_RULESET_VERSION)
    return max(version, 0)


def _handled(abi):
    """(filesystem, network, scope) rights this ABI can refuse: every one of them is handled."""
    fs = (1 << 13) - 1  # ABI 1: execute .. make_sym
    fs |= (1 << 13) if abi >= 2 else 0  # refer: links and renames across folders
    fs |= FS_TRUNCATE if abi >= 3 else 0
    fs |= FS_IOCTL_DEV if abi >= 5 else 0
    net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    return fs, net, scoped


def _restrict_files(libc, allowed):
    """Landlock this process and all it starts: read (and run) only `allowed["read"]`, write only
    `allowed["write"]` (and the `allowed["devices"]` files); no TCP bind or connect, no signal or abstract Unix
    socket outside its own domain (where the ABI has them). Raises OSError when Landlock cannot be applied.
    """
    import ctypes

    abi = landlock_abi(libc)
    if abi < 1:
        raise OSError("Landlock is not available in this kernel")
    fs, net, scoped = _handled(abi)

    class Ruleset(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    size = 8 if abi < 4 else 16 if abi < 6 else 24  # the attribute as this ABI knows it
    ruleset = libc.syscall(LANDLOCK_CREATE_RULESET, ctypes.byref(Ruleset(fs, net, scoped)), size, 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "could not create a Landlock ruleset")
    reading = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
    rights = [(path, reading) for path in allowed.get("read", [])]
    rights += [(path, FS_READ_DIR) for path in allowed.get("list", [])]
    rights += [(path, fs) for path in allowed.get("write", [])]
    rights += [(path, FS_READ_FILE | FS_WRITE_FILE) for path in allowed.get("devices", [])]
    try:
        for path, access in rights:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # not on this machine: nothing to allow
            try:
                if not os.path.isdir(path):
                    access &= FS_FILE_RIGHTS
                rule = PathBeneath(access & fs, fd)
                if libc.syscall(LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0):
                    raise OSError(ctypes.get_errno(), f"Landlock refused a rule for {path}")
            finally:
                os.close(fd)
        if libc.syscall(LANDLOCK_RESTRICT_SELF, ruleset, 0):
            raise OSError(ctypes.get_errno(), "Landlock could not restrict the student process")
    finally:
        os.close(ruleset)


# Capabilities a user namespace's root holds over what the namespace owns: all given up once its root is built.
PR_CAPBSET_DROP, PR_SET_SECUREBITS = 24, 28
SECURE_NOROOT_ALL = 0xEF  # noroot, no_setuid_fixup, no_cap_ambient_raise (each locked), keep_caps locked off


def _drop_capabilities(libc):
    """Give up every capability for good: bounding set emptied, root's exec rules off, the sets cleared."""
    import ctypes

    if libc.prctl(PR_SET_SECUREBITS, SECURE_NOROOT_ALL, 0, 0, 0):
        raise OSError(ctypes.get_errno(), "could not lock the securebits")
    cap = 0
    while libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:
        cap += 1

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    data = (ctypes.c_uint32 * 6)()  # two of {effective, permitted, inheritable}, all zero
    if libc.capset(ctypes.byref(Header(0x20080522, 0)), data):
        raise OSError(ctypes.get_errno(), "could not clear the capabilities")


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
    elif config.get("drop_capabilities"):  # root of a user namespace of its own: no uid to switch to
        _drop_capabilities(libc)
    if config.get("confine"):
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if config.get("landlock") is not None:
            _restrict_files(libc, config["landlock"])
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
    server = Server(namespace, lines.read, write)
    pauses = set(config.get("pauses", []))  # cells before which the grader runs the tests placed there
    for index, (number, source) in enumerate(config["cells"]):
        if index in pauses:
            send({"event": "pause", "index": index})
            if not server.loop():
                return  # the grader hung up while the tests ran
        if -1 in skip.get(index, ()):
            continue
        send({"event": "start", "index": index})
        error = _run_cell(number, source, skip.get(index, set()), namespace, send, index)
        try:
            send({"event": "cell", "index": index, "error": error})
        except BaseException:  # the student's code broke json or the protocol module: a plain report
            send({"event": "cell", "index": index, "error": "the cell's error could not be reported"})
    send({"event": "ready"})
    server.loop()


if __name__ == "__main__":
    main()
