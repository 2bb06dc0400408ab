"""The sandbox a student's kernel runs in while it is graded.

``SandboxedKernelManager`` starts the kernel with bubblewrap in private mount,
network, PID, IPC and UTS namespaces. Inside, the kernel sees only

- a fresh working folder (a copy of the submission's other files);
- the Python environment, read-only: the venv, the Python it was built
  from, ``mle_helpers`` and the system's ``/usr``;
- its own connection folder, where the grader talks to it over Unix sockets
  (there is no network inside);

and runs as the unprivileged user ``nobody`` (when the grader runs as root),
with limits on CPU time, memory, file size, open files and processes, and an
environment of its own (none of the grader's variables). The gradebook, the
instructor's sources, the grading package and every other file do not exist
in there. Requires Debian's ``bubblewrap`` (``make test`` installs it).
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer, Unicode

__all__ = ["SandboxedKernelManager", "BWRAP", "sandbox_available"]

BWRAP = shutil.which("bwrap") or "/usr/bin/bwrap"
PRLIMIT = shutil.which("prlimit") or "/usr/bin/prlimit"
NOBODY = 65534


def sandbox_available() -> bool:
    return os.path.exists(BWRAP) and os.path.exists(PRLIMIT)


@functools.lru_cache(maxsize=1)
def _python_roots() -> list[str]:
    """The folders the kernel's Python needs: the venv, its base Python, and mle_helpers as it installed it.

    mle_helpers is looked up by a fresh interpreter: the grader's own import may come from the
    current folder (nbgrader puts it on sys.path), which the kernel's Python does not see.
    """
    found = subprocess.run([sys.executable, "-c", "import importlib.util as u; print(u.find_spec('mle_helpers').origin)"],
                           cwd="/", capture_output=True, text=True, timeout=60, env={"PATH": os.defpath})
    if found.returncode != 0:
        raise RuntimeError(f"the kernel's Python cannot import mle_helpers: {found.stderr.strip()[-500:]}")
    roots = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix),
             str(Path(found.stdout.strip()).resolve().parent)}
    return sorted(root for root in roots if not root.startswith("/usr/"))


def _real_python() -> str:
    """This venv's python under the venv's real folder: a linked venv (``.venv`` -> elsewhere) is bound
    into the sandbox at its real place only. The venv's own ``bin/python``, not the file the link
    resolves to, so that the kernel still runs in the venv."""
    return str(Path(os.path.realpath(sys.prefix)) / "bin" / Path(sys.executable).name)


def _parents(path: str) -> list[str]:
    """Every folder above ``path``, top first (created inside the sandbox with mode 0755)."""
    parts = Path(path).parts
    return [str(Path(*parts[:i])) for i in range(2, len(parts))]


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run in a bubblewrap sandbox (see the module docstring)."""

    cpu_seconds = Integer(600, help="CPU seconds the kernel may use in all").tag(config=True)
    memory_bytes = Integer(6 * 2**30, help="address space of the kernel process").tag(config=True)
    file_bytes = Integer(64 * 2**20, help="largest file the kernel may write").tag(config=True)
    processes = Integer(512, help="processes and threads of the sandbox user").tag(config=True)
    user = Unicode("nobody", help="the user the kernel runs as when the grader is root").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if not sandbox_available():
            raise RuntimeError(f"the grading sandbox needs bubblewrap ({BWRAP}) and prlimit: "
                               "apt-get install bubblewrap util-linux")
        self._root = Path(tempfile.mkdtemp(prefix="mle-sandbox-"))
        self._root.chmod(0o711)
        self._run = self._root / "run"  # connection file and Unix sockets
        self._work = self._root / "work"  # the kernel's working folder
        for folder in (self._run, self._work):
            folder.mkdir(mode=0o700)
            if os.geteuid() == 0:
                os.chown(folder, NOBODY, NOBODY)
        self.transport = "ipc"
        self.ip = str(self._run / "kernel")
        self.connection_file = str(self._run / "kernel.json")

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if os.geteuid() == 0:
            os.chown(self.connection_file, NOBODY, NOBODY)

    async def _async_pre_start_kernel(self, **kw):
        cwd = kw.get("cwd")
        if cwd and Path(cwd).is_dir():  # the submission's other files (data the notebook reads)
            shutil.copytree(cwd, self._work, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "*.grading.json"))
            if os.geteuid() == 0:
                for folder, _, files in os.walk(self._work):
                    for name in [folder, *(os.path.join(folder, f) for f in files)]:
                        os.chown(name, NOBODY, NOBODY)
        self.kernel_spec.interrupt_mode = "message"  # a signal to bwrap would not reach the kernel inside
        kw["cwd"] = str(self._root)
        kw["env"] = {}  # bwrap sets the kernel's environment; the grader's stays outside
        kw["stdout"] = kw["stderr"] = subprocess.DEVNULL  # the kernel talks to the grader, not to its terminal
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments=None):
        return self.sandbox_command(super().format_kernel_cmd(extra_arguments))

    def sandbox_command(self, command: list[str]) -> list[str]:
        """``command`` wrapped in prlimit, bubblewrap and (as root) a switch to the sandbox user."""
        limits = [PRLIMIT, f"--cpu={self.cpu_seconds}", f"--as={self.memory_bytes}", f"--fsize={self.file_bytes}",
                  "--nofile=256", f"--nproc={self.processes}", "--core=0", "--"]
        bwrap = [BWRAP, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                 "--die-with-parent", "--hostname", "sandbox",
                 "--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
            if os.path.islink(top):
                bwrap += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                bwrap += ["--ro-bind", top, top]
        for etc in ("/etc/ld.so.cache", "/etc/fonts", "/etc/localtime", "/etc/passwd", "/etc/group"):
            bwrap += ["--ro-bind-try", etc, etc]
        made = set()
        for root in _python_roots() + [str(self._root)]:
            for parent in _parents(root):
                if parent not in made and parent != "/tmp" and not parent.startswith("/usr/"):  # /tmp: a tmpfs above
                    made.add(parent)
                    bwrap += ["--perms", "0755", "--dir", parent]
        for root in _python_roots():
            bwrap += ["--ro-bind", root, root]
        bwrap += ["--bind", str(self._root), str(self._root), "--chdir", str(self._work), "--clearenv"]
        for key, value in {"HOME": "/tmp", "PATH": f"{Path(_real_python()).parent}:/usr/bin:/bin",
                           "LANG": "C.UTF-8", "MPLCONFIGDIR": "/tmp/matplotlib", "OMP_NUM_THREADS": "1",
                           "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}.items():
            bwrap += ["--setenv", key, value]
        if os.geteuid() == 0:
            drop = ["/usr/bin/setpriv", f"--reuid={self.user}", f"--regid={NOBODY}", "--clear-groups", "--no-new-privs",
                    "--inh-caps=-all", "--bounding-set=-all"]
        else:
            bwrap.insert(1, "--unshare-user")
            drop = []
        if command and command[0] == sys.executable:
            command = [_real_python(), *command[1:]]
        return limits + bwrap + ["--"] + drop + command

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self.remove_sandbox()

    def remove_sandbox(self) -> None:
        """Delete the sandbox's folders (the executor calls it too: a kernel that died at start is never cleaned up)."""
        shutil.rmtree(self._root, ignore_errors=True)
