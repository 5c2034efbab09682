"""INTERIM stand-in until gw-config lands."""
from dataclasses import dataclass, field


@dataclass
class BackendConfig:
    name: str
    kind: str
    url: str | None = None
    model: str | None = None
    gguf: str | None = None
    ctx: int | None = None
    api_key_env: str | None = None
    timeout_s: float = 600.0
    first_byte_timeout_s: float = 60.0


@dataclass
class RouteConfig:
    match: str
    chain: tuple


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    api_key_env: str = "INHOUSE_API_KEY"


@dataclass
class GatewayConfig:
    server: ServerConfig = field(default_factory=ServerConfig)
    backends: tuple = ()
    routes: tuple = ()
    prices: dict = field(default_factory=dict)
    policy: dict = field(default_factory=dict)
    path: object = None


def default_config():
    return GatewayConfig(backends=(BackendConfig("local", "local", model="smollm2-135m-instruct",
                                                 gguf="smollm2-135m-instruct", ctx=2048),),
                         routes=(RouteConfig("*", ("local",)),))


def load_config(path):
    raise NotImplementedError
