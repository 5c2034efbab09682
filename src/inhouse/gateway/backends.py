"""INTERIM stand-in until gw-config lands."""


class BackendState:
    def __init__(self, name, max_failures=3, cooldown_s=30.0):
        self.name, self.failures, self.until, self.error = name, 0, 0.0, None
        self.max_failures, self.cooldown_s = max_failures, cooldown_s

    def record_success(self, now):
        self.failures, self.until = 0, 0.0

    def record_failure(self, error, now, retry_after=None):
        self.failures += 1
        self.error = error
        if retry_after is not None:
            self.until = max(self.until, now + retry_after)
        if self.failures >= self.max_failures:
            self.until = max(self.until, now + self.cooldown_s)

    def available(self, now):
        return now >= self.until


class LocalServer:
    """INTERIM: python -m llama_cpp.server for a GGUF."""

    def __init__(self, gguf_path, ctx=2048, alias="local", timeout=180):
        self.gguf_path, self.ctx, self.alias, self.timeout = str(gguf_path), ctx, alias, timeout
        self.proc = None
        self.url = None

    def start(self):
        import subprocess, sys, time, httpx, os
        from ..bench.server import free_port
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", self.gguf_path,
                                      "--model_alias", self.alias, "--host", "127.0.0.1", "--port", str(port),
                                      "--n_ctx", str(self.ctx), "--verbose", "false"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.monotonic()
        while time.monotonic() - t0 < self.timeout:
            if self.proc.poll() is not None:
                raise RuntimeError("llama_cpp.server exited")
            try:
                if httpx.get(self.url + "/v1/models", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("timeout")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
