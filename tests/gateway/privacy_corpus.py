"""Planted secrets and private paths in every position of both protocols, and clean look-alikes.

``planted_cases(private_repo)`` -> list of ``Case`` (each holds the planted value, so tests can
assert it never leaves); ``clean_cases()`` -> ordinary coding requests that must NOT be private.
``RULES`` is the ``[policy.privacy]`` table the corpus assumes. All values are made up.

Decided and documented: AWS's published example keys (``AKIAIOSFODNN7EXAMPLE``,
``wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY``) and placeholder credentials
(``postgres://user:password@localhost``) are not secrets; git hashes, sha256 digests, UUIDs,
base64 test data and package integrity hashes are not either.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.parse
from dataclasses import dataclass


RULES = {
    "markers": ["Bluebird"],
    "patterns": [r"ACME-\d{6}"],
    "paths": ["~/work/acme/**"],
}

# name -> planted text; tests set HOME per test, so the home-relative ones are built per call
_FIXED = {
    "aws-key-id": "AKIAZ3MSJV7Q4XYZW2PL",
    "aws-secret": 'aws_secret_access_key = "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"',
    "github-pat": "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",
    "github-fine": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123",
    "gitlab": "glpat-Xr8kT2mQ9vLw4ZbN7yPc",
    "slack-bot": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "slack-webhook": "https://hooks.slack.com/services/T0A1B2C3D/B4E5F6G7H/abcDEFghiJKLmnoPQRstuVWX",
    "stripe-live": "sk_live_4eC39HqLyjWDarjtT1zdp7dcQz",
    "stripe-restricted": "rk_live_51HqLyjWDarjtT1zdp7dcQzXy",
    "openai": "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAB7cDE0fGH3iJK6lMN9oPQ2rST5uVW8xYZ1T3BlbkFJa1b2c3d4e5f6g7h8i9j0",
    "sendgrid": "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",
    "npm": "//registry.npmjs.org/:_authToken=npm_Zx9Kq2Lm8Vb4Nt7Rw1Yc5Hp3Jd6Fs0Gu9Ae",
    "pypi": "pypi-AgEIcHlwaS5vcmcCJGQ4ZTljZDFiLTRmNmEtNGE2Zi05YmQ0LTFkYjZmMzE0ZTlhNAACJXsicGVybWlzc2lvbnMiOiAidXNlciIsICJ2ZXJzaW9uIjogMX0AAAYgXx1",
    "jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFjbWUgQWRtaW4iLCJpYXQiOjE3MTYyMzkwMjJ9.Xq3vR8kLm2Tw9ZbN4yPc7sJf1HdG6aUe5oKi0VqAbC",
    "rsa-key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----",
    "openssh-key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----",
    "azure-storage": "DefaultEndpointsProtocol=https;AccountName=acmeprod;AccountKey=Zt3kQ9vLm2Xw8RbN4yTpC7sJf1HdG6aUe5oKi0VqZt3kQ9vLm2Xw8RbN4yTpC7sJf1HdG6aUe5oKi0Vq12==;EndpointSuffix=core.windows.net",
    "postgres-url": "postgres://acme_admin:Tr0ub4dor-77x@db.acme.internal:5432/billing",
    "mongodb-url": "mongodb+srv://svc-report:hQ7vN2pL9xZ4@cluster0.ab1cd.mongodb.net/prod",
    "redis-url": "redis://default:r3d1sP4ssw0rdZ9@cache.acme.internal:6379/0",
    "ado-conn": "Server=tcp:sql.acme.local,1433;Database=ledger;User ID=app;Password=Qz81kkLm0p;",
    "env-secret": "SESSION_SECRET=f9a8b7c6d5e4f3a2b1",
    "env-random": "MAILGUN_SIGNING=Xr8kT2mQ9vLw4ZbN7yPcD3",
    "keyword": 'db_password = "correct-horse-battery-staple-42"',
    "named-entropy": '"apiToken": "q8ZrT2vLx9MkP4wN7sYbE6"',
    "bearer": "Authorization: Bearer xK9mP2vL8qR4tN6wZ3yB7cD1fG5hJ0aS",
    "basic-auth-url": "https://deploy:Gh7!kQm2xP@ci.acme.internal/hooks/build",
    "twilio": "SK0123456789abcdef0123456789abcdef",
    "discord": "MTA0NTY3ODkwMTIzNDU2Nzg5MA.GhJkLm.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ab",
    "marker": "the Bluebird migration",
    "pattern": "ticket ACME-123456",
}
# the part of each that must not leave (for values like `key = "..."` the secret itself)
_FIXED_VALUES = {
    "aws-secret": "Zt3kQ9vLm2Xw8RbN4yTpC7sJf1HdG6aUe5oKi0Vq",
    "npm": "npm_Zx9Kq2Lm8Vb4Nt7Rw1Yc5Hp3Jd6Fs0Gu9Ae",
    "azure-storage": "Zt3kQ9vLm2Xw8RbN4yTpC7sJf1HdG6aUe5oKi0VqZt3kQ9vLm2Xw8RbN4yTpC7sJf1HdG6aUe5oKi0Vq12==",
    "postgres-url": "Tr0ub4dor-77x",
    "mongodb-url": "hQ7vN2pL9xZ4",
    "redis-url": "r3d1sP4ssw0rdZ9",
    "ado-conn": "Qz81kkLm0p",
    "env-secret": "f9a8b7c6d5e4f3a2b1",
    "env-random": "Xr8kT2mQ9vLw4ZbN7yPcD3",
    "keyword": "correct-horse-battery-staple-42",
    "named-entropy": "q8ZrT2vLx9MkP4wN7sYbE6",
    "bearer": "xK9mP2vL8qR4tN6wZ3yB7cD1fG5hJ0aS",
    "basic-auth-url": "Gh7!kQm2xP",
    "marker": "Bluebird",
    "pattern": "ACME-123456",
}


def secrets() -> tuple[dict[str, str], dict[str, str]]:
    """(name -> planted text, name -> the value in it that must not leave), under today's HOME."""
    acme = os.path.expanduser("~/work/acme")
    texts = {**_FIXED, "path-glob": f"{acme}/api/src/billing.py",
             "path-tilde": "~/work/acme/infra/terraform/main.tf", "workdir": f"Working directory: {acme}/api"}
    values = {**texts, **_FIXED_VALUES, "workdir": f"{acme}/api"}
    return texts, values


@dataclass
class Case:
    id: str
    protocol: str
    position: str
    body: dict
    value: str          # the planted value: must never reach a cloud backend


def _wrap(text: str) -> str:
    return f"Here is the file I am working on:\n\n```\n# settings\n{text}\n```\nPlease review it."


def _tool_def_openai(text):
    return [{"type": "function", "function": {"name": "deploy", "description": f"Deploy. {text}",
                                              "parameters": {"type": "object", "properties": {}}}}]


def _tool_def_anthropic(text):
    return [{"name": "deploy", "description": f"Deploy. {text}", "input_schema": {"type": "object", "properties": {}}}]


def _oa(messages, **extra):
    return {"model": "gpt-4o", "messages": messages, **extra}


def _an(messages, **extra):
    return {"model": "claude-sonnet-4-5", "max_tokens": 512, "messages": messages, **extra}


_CALL = {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": ""}}
_USE = {"type": "tool_use", "id": "toolu_01", "name": "read_file", "input": {}}

# position -> (protocol, function(text) -> body)
POSITIONS = {
    "openai.system": ("openai", lambda t: _oa([{"role": "system", "content": _wrap(t)}, {"role": "user", "content": "hi"}])),
    "openai.user": ("openai", lambda t: _oa([{"role": "user", "content": _wrap(t)}])),
    "openai.user-parts": ("openai", lambda t: _oa([{"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "text", "text": _wrap(t)}]}])),
    "openai.assistant": ("openai", lambda t: _oa([{"role": "user", "content": "go"}, {"role": "assistant", "content": _wrap(t)}, {"role": "user", "content": "ok"}])),
    "openai.tool-args": ("openai", lambda t: _oa([{"role": "user", "content": "read it"}, {"role": "assistant", "content": None, "tool_calls": [{**_CALL, "function": {"name": "write_file", "arguments": json.dumps({"path": "notes.txt", "content": t})}}]}])),
    "openai.tool-result": ("openai", lambda t: _oa([{"role": "user", "content": "read it"}, {"role": "assistant", "content": None, "tool_calls": [{**_CALL, "function": {"name": "read_file", "arguments": "{\"path\": \"settings.py\"}"}}]}, {"role": "tool", "tool_call_id": "call_1", "content": _wrap(t)}])),
    "openai.tool-def": ("openai", lambda t: _oa([{"role": "user", "content": "deploy"}], tools=_tool_def_openai(t))),
    "anthropic.system-str": ("anthropic", lambda t: _an([{"role": "user", "content": "hi"}], system=_wrap(t))),
    "anthropic.system-blocks": ("anthropic", lambda t: _an([{"role": "user", "content": "hi"}], system=[{"type": "text", "text": "You are an agent."}, {"type": "text", "text": _wrap(t)}])),
    "anthropic.user": ("anthropic", lambda t: _an([{"role": "user", "content": _wrap(t)}])),
    "anthropic.user-blocks": ("anthropic", lambda t: _an([{"role": "user", "content": [{"type": "text", "text": _wrap(t)}]}])),
    "anthropic.assistant": ("anthropic", lambda t: _an([{"role": "user", "content": "go"}, {"role": "assistant", "content": [{"type": "thinking", "thinking": _wrap(t), "signature": "sig"}, {"type": "text", "text": "done"}]}, {"role": "user", "content": "ok"}])),
    "anthropic.tool-use": ("anthropic", lambda t: _an([{"role": "user", "content": "write"}, {"role": "assistant", "content": [{**_USE, "name": "write_file", "input": {"path": "notes.txt", "content": t}}]}, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "ok"}]}])),
    "anthropic.tool-result-str": ("anthropic", lambda t: _an([{"role": "user", "content": "read"}, {"role": "assistant", "content": [{**_USE, "input": {"path": "settings.py"}}]}, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": _wrap(t)}]}])),
    "anthropic.tool-result-nested": ("anthropic", lambda t: _an([{"role": "user", "content": "read"}, {"role": "assistant", "content": [{**_USE, "input": {"path": "settings.py"}}]}, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": [{"type": "text", "text": "file follows"}, {"type": "text", "text": _wrap(t)}]}]}])),
    "anthropic.tool-def": ("anthropic", lambda t: _an([{"role": "user", "content": "deploy"}], tools=_tool_def_anthropic(t))),
}

ENCODINGS = {
    "base64": lambda t: "blob: " + base64.b64encode(t.encode()).decode(),
    "url": lambda t: "link: https://example.com/share?note=" + urllib.parse.quote(t, safe=""),
    "json": lambda t: json.dumps({"config": {"value": t}}),
}


def planted_cases(private_repo: str | None = None) -> list[Case]:
    """Every secret in a position (cycling through all positions), then encoded variants, then
    a file in a folder holding ``.inhouse-private`` (``private_repo``) in every position."""
    cases: list[Case] = []
    positions = list(POSITIONS)
    SECRETS, VALUES = secrets()
    for i, (name, text) in enumerate(SECRETS.items()):
        for j in (i, i + 7):  # two positions each
            pos = positions[j % len(positions)]
            proto, make = POSITIONS[pos]
            cases.append(Case(f"{name}@{pos}", proto, pos, make(text), VALUES[name]))
    for k, (enc, encode) in enumerate(ENCODINGS.items()):
        for i, name in enumerate(["github-pat", "postgres-url", "marker", "stripe-live", "path-glob"]):
            pos = positions[(i * 3 + k) % len(positions)]
            proto, make = POSITIONS[pos]
            encoded = encode(SECRETS[name])
            cases.append(Case(f"{name}+{enc}@{pos}", proto, pos, make(encoded), encoded if enc != "json" else VALUES[name]))
    if private_repo:
        path = os.path.join(private_repo, "src", "app.py")
        for pos in positions:
            proto, make = POSITIONS[pos]
            cases.append(Case(f"private-repo@{pos}", proto, pos, make(f"see {path}"), path))
    return cases


CLEAN_SNIPPETS = [
    "commit 3f786850e387550fdab836ed7e6dc881de23001b\nAuthor: Dev <dev@example.com>\n\n    fix: off-by-one in pager",
    'EXPECTED_SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"',
    'run_id = "550e8400-e29b-41d4-a716-446655440000"\nuser = User(id=uuid.UUID("123e4567-e89b-12d3-a456-426614174000"))',
    'PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="',
    'def test_decode():\n    assert b64decode("SGVsbG8sIFdvcmxkIQ==") == b"Hello, World!"',
    'aws_access_key_id = "AKIAIOSFODNN7EXAMPLE"\naws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
    'password = os.environ["DB_PASSWORD"]\napi_key = settings.API_KEY',
    'DATABASE_URL = "postgres://user:password@localhost:5432/mydb"',
    'token = request.headers.get("Authorization")\nif not token:\n    raise Unauthorized()',
    '"integrity": "sha512-Vq4h0d4kuUSV0BX3UBTUgMX7LSaBs7SgUOz2IFSPRRsMlBxXfBxXmAuVbeFdERNA5nyA9VOeRGFuXwYnWLIbxw=="',
    'def hash_password(password: str) -> str:\n    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()',
    'class Config:\n    SECRET_KEY = os.getenv("SECRET_KEY", "")\n    DEBUG = False',
    'const id = "a3f1c2e4b5d6";\nconst version = "1.4.2";\nexport default { id, version };',
    'resource "aws_s3_bucket" "logs" {\n  bucket = "my-app-logs"\n  acl    = "private"\n}',
    'HEAD is now at 1a2b3c4 Merge pull request #42 from dev/feature\n 3 files changed, 41 insertions(+), 7 deletions(-)',
    'docker pull python@sha256:4d0ab5f5b0a2f9c4e1d3c7b8a6e5f4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7',
    '[tool.poetry.dependencies]\npython = "^3.11"\nrequests = "^2.31"\n',
    'with open("/usr/lib/python3/dist-packages/foo.py") as f:\n    data = f.read()',
    'cd /tmp/build && make -j4 && ./run_tests --filter=ParserTest.*',
    'import hashlib\nprint(hashlib.md5(b"abc").hexdigest())  # 900150983cd24fb0d6963f7d28e17f72',
    'KEY_PREFIX = "cache:v2:"\nTTL_SECONDS = 3600\nMAX_RETRIES = 5',
    'curl -H "Authorization: Bearer $GITHUB_TOKEN" https://api.github.com/repos/org/repo',
    '# .env.example\nDATABASE_URL=postgres://user:password@localhost/app\nSECRET_KEY=changeme\nDEBUG=true',
    'export PATH="$HOME/.local/bin:$PATH"\nexport PYTHONPATH=src',
    'fixture = {"token": "test-token", "user": "alice", "expires": 3600}',
    'assert response.json() == {"id": "c0ffee00-1234-5678-9abc-def012345678", "status": "ok"}',
    'regex = re.compile(r"^[A-Za-z0-9+/]{40}$")  # validates the shape of an API key',
    'const b64 = btoa("username:password"); // example from MDN',
    'version: "3.9"\nservices:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}',
    'SELECT id, email, created_at FROM users WHERE org_id = $1 ORDER BY created_at DESC LIMIT 50;',
    'Traceback (most recent call last):\n  File "/home/runner/work/proj/proj/app.py", line 12, in <module>\n    main()\nKeyError: \'token\'',
    'git log --oneline\n9fceb02 Add pager\n3f78685 Fix import\ne83c516 Initial commit',
    'WEBPACK_HASH = "d41d8cd98f00b204e9800998ecf8427e"\nBUILD_ID = "20240501.3"',
    'func TestSign(t *testing.T) {\n\tsig := Sign([]byte("payload"), testKey)\n\tif len(sig) != 64 { t.Fatal("bad length") }\n}',
    'nonce = secrets.token_hex(16)\nsalt = os.urandom(16)',
    'https://github.com/psf/requests/blob/0e322af87745eff34caffe4df68456ebc20d9068/src/requests/api.py',
    '"dependencies": {"left-pad": "^1.3.0", "lodash": "4.17.21"}',
    'openssl dgst -sha256 file.tar.gz\nSHA2-256(file.tar.gz)= 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
    'kubectl get secret my-secret -o jsonpath="{.data.password}" | base64 -d',
    'ssh-keygen -t ed25519 -C "you@example.com"\n# then add ~/.ssh/id_ed25519.pub to GitHub',
    'def test_jwt_rejects_garbage():\n    with pytest.raises(DecodeError):\n        jwt.decode("not.a.token", key)',
    'color_map = {"primary": "#1a73e8", "danger": "#d93025", "ok": "#188038"}',
]


def clean_cases() -> list[Case]:
    """Each clean snippet in one position (cycling), both protocols."""
    positions = list(POSITIONS)
    out = []
    for i, text in enumerate(CLEAN_SNIPPETS):
        pos = positions[i % len(positions)]
        proto, make = POSITIONS[pos]
        out.append(Case(f"clean{i}@{pos}", proto, pos, make(text), ""))
    return out
