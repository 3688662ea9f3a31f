"""deprecator.yml: loading, ${ENV} interpolation and validation."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from deprecator.errors import ConfigError
from deprecator.redact import mask_url, redact


def _masked_repr(obj: Any) -> str:
    """A dataclass repr with URL passwords and secret environment values masked (configs get logged)."""
    from dataclasses import fields

    body = ", ".join(f"{f.name}={getattr(obj, f.name)!r}" for f in fields(obj))
    return redact(f"{type(obj).__name__}({body})")


@dataclass(frozen=True)
class WarehouseConfig:
    url: str | None = None               # SQLAlchemy URL, secrets interpolated from the environment
    dialect: str | None = None           # sqlglot dialect; inferred from the URL when omitted
    default_schema: tuple[str, ...] = () # search path; first entry qualifies unqualified names
    default_catalog: str | None = None
    # Apply locking (PostgreSQL): None = the adapter's default.
    lock_timeout_ms: int | None = None   # how long one DDL statement waits for a lock before the try fails
    lock_retries: int | None = None      # tries after the first one when a lock wait times out
    lock_backoff_s: float | None = None  # wait before the first retry, doubled after each
    # Roles deprecator itself uses (the apply role): their statements are not usage.
    own_roles: tuple[str, ...] = ()
    line: int | None = None              # 1-based line of the `warehouse:` section in deprecator.yml

    __repr__ = _masked_repr

    def lock_options(self) -> dict[str, Any]:
        """The configured lock settings as adapter keywords (only those set)."""
        out: dict[str, Any] = {}
        if self.lock_timeout_ms is not None:
            out["lock_timeout_ms"] = self.lock_timeout_ms
        if self.lock_retries is not None:
            out["lock_retries"] = self.lock_retries
        if self.lock_backoff_s is not None:
            out["lock_backoff_s"] = self.lock_backoff_s
        return out


@dataclass(frozen=True)
class DbtConfig:
    """The `dbt:` section: the dbt project deprecator works beside."""

    manifest: Path | None = None         # target/manifest.json, resolved from the config folder
    line: int | None = None              # 1-based line of `manifest:` in deprecator.yml


@dataclass(frozen=True)
class HistorySourceConfig:
    type: str                            # "file" now; "pg_stat_statements", "sql" later
    path: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)
    line: int | None = None              # 1-based line of the entry in deprecator.yml

    __repr__ = _masked_repr


@dataclass(frozen=True)
class Config:
    path: Path | None                    # the deprecator.yml it came from (None: defaults)
    root: Path                           # folder relative paths resolve from
    warehouse: WarehouseConfig
    registry_path: Path
    history: tuple[HistorySourceConfig, ...] = ()
    sql_paths: tuple[str, ...] = ()      # files / folders / globs scanned by default
    state_url: str = "sqlite:///.deprecator/state.db"
    # Folder of the user's own templates (migration_guide.md.j2, ...); the shipped ones otherwise.
    templates_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)   # sections later issues add (owners, slack, dbt)
    dbt: DbtConfig = field(default_factory=DbtConfig)
    owners: "OwnersConfig" = field(default_factory=lambda: OwnersConfig())
    slack: "SlackConfig" = field(default_factory=lambda: SlackConfig())

    __repr__ = _masked_repr

    @property
    def dialect(self) -> str:
        return self.warehouse.dialect or "postgres"

    def load_registry(self) -> Any:
        """The registry this config points at, normalized with the warehouse defaults."""
        from deprecator.registry import load_registry

        return load_registry(
            self.registry_path, self.dialect, self.warehouse.default_schema, self.warehouse.default_catalog
        )


TOP_LEVEL_KEYS = ("warehouse", "registry", "history", "paths", "state", "templates")
RESERVED_SECTIONS = ("owners", "slack", "dbt", "notify", "check")
WAREHOUSE_KEYS = ("url", "dialect", "default_schema", "default_catalog", "lock_timeout", "lock_retries",
                  "lock_backoff", "own_roles")
DBT_KEYS = ("manifest",)
HISTORY_TYPES = ("file", "pg_stat_statements", "sql")
DEFAULT_CONFIG_NAME = "deprecator.yml"
DEFAULT_REGISTRY_NAME = "deprecations.yml"
DEFAULT_STATE_URL = "sqlite:///.deprecator/state.db"

# URL scheme (before any +driver) -> sqlglot dialect.
SCHEME_DIALECTS = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "psql": "postgres",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "redshift": "redshift",
    "duckdb": "duckdb",
    "sqlite": "sqlite",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mssql": "tsql",
    "oracle": "oracle",
    "trino": "trino",
    "presto": "presto",
    "databricks": "databricks",
    "clickhouse": "clickhouse",
}
DIALECT_ALIASES = {"postgresql": "postgres", "mariadb": "mysql", "mssql": "tsql", "sqlserver": "tsql"}

class MissingVariable(ConfigError):
    """A ``${VAR}`` without a default names a variable that is not set."""


_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{([^}]*)\}?")


def interpolate(text: str, *, path: str | None = None, line: int | None = None, field: str | None = None,
                environ: Any = None) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}`` from the environment (``$$`` is a literal ``$``).

    A missing variable without a default is a ConfigError naming the variable.
    """
    env = os.environ if environ is None else environ

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        if m.group(1) is None:
            raise ConfigError(f"malformed variable reference `{m.group(0)}`; write ${{NAME}} or ${{NAME:-default}}",
                              path=path, line=line, field=field)
        name, default = m.group(1), m.group(2)
        value = env.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise MissingVariable(
                    f"environment variable {name} is not set",
                    path=path, line=line, field=field,
                    hint=f"export {name}=..., or write ${{{name}:-default}} in the config",
                )
            return default
        return value

    if "$" not in text:
        return text
    return _VAR.sub(sub, text)


def infer_dialect(url: str) -> str | None:
    """sqlglot dialect for a SQLAlchemy URL's scheme (``postgresql+psycopg2://`` -> postgres)."""
    if "://" not in url and not url.startswith("sqlite:"):
        return None
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    return SCHEME_DIALECTS.get(scheme)


def known_dialects() -> tuple[str, ...]:
    from sqlglot.dialects.dialect import Dialects

    return tuple(sorted(d.value for d in Dialects if d.value))


def check_dialect(name: str, *, path: str | None = None, line: int | None = None,
                  field: str = "warehouse.dialect") -> str:
    """The canonical sqlglot dialect name, or a ConfigError suggesting a close one."""
    from deprecator.yamlio import suggest

    d = name.strip().lower()
    d = DIALECT_ALIASES.get(d, d)
    names = known_dialects()
    if d not in names:
        raise ConfigError(f"unknown SQL dialect {name!r}", path=path, line=line, field=field,
                          hint=suggest(d, names) or f"one of: {', '.join(names)}")
    return d


def resolve_url_path(url: str, root: Path) -> str:
    """Make a relative file URL (``sqlite:///x.db``) absolute from ``root``; other URLs unchanged."""
    for scheme in ("sqlite", "duckdb"):
        if not url.lower().startswith(scheme):
            continue
        head, sep, rest = url.partition(":///")
        if not sep or "://" in head:
            return url
        file_part, q, query = rest.partition("?")
        if not file_part or file_part.startswith("/") or file_part.startswith(":memory:"):
            return url
        if file_part.startswith("file:"):   # an SQLite URI (?mode=ro&uri=true): its path resolves inside
            inner = file_part[5:]
            if inner.startswith("/"):
                return url
            return f"{head}:///file:{(root / inner).resolve()}{q}{query}"
        return f"{head}:///{(root / file_part).resolve()}{q}{query}"
    return url


def default_config(root: str | os.PathLike[str] | None = None) -> Config:
    """The configuration used when there is no deprecator.yml (files-only runs)."""
    r = Path(root or Path.cwd()).resolve()
    return Config(
        path=None,
        root=r,
        warehouse=WarehouseConfig(),
        registry_path=r / DEFAULT_REGISTRY_NAME,
        state_url=resolve_url_path(DEFAULT_STATE_URL, r),
    )


def load_config_or_default(path: str | os.PathLike[str], *, explicit: bool, require_env: bool = True) -> Config:
    """load_config, except that a missing default ./deprecator.yml falls back to default_config."""
    p = Path(path)
    if not explicit and not p.exists():
        return default_config(p.parent if str(p.parent) else Path.cwd())
    return load_config(p, require_env=require_env)


def load_config(path: str | os.PathLike[str], *, require_env: bool = True) -> Config:
    """Load and validate deprecator.yml; every error names file, line and field (secrets masked).

    ``require_env=False`` is for commands that never connect anywhere (list,
    deprecate): an unset variable in ``warehouse.url``, in a history source's
    options or in a later section (slack, ...) then leaves that value None
    instead of failing. Paths, dialect and schema are always required.
    """
    from deprecator.yamlio import load_yaml_text, read_config_file

    p = Path(path)
    text = read_config_file(p, "config",
                            "run `deprecator init` to create deprecator.yml, or pass --config PATH")
    data = load_yaml_text(text, str(p))
    try:
        return _build(data, p.resolve(), require_env)
    except ConfigError as e:
        raise _masked(e) from None


def _masked(e: ConfigError) -> ConfigError:
    """The same error with URL passwords and secret environment values masked."""
    msg = redact(e.message)
    if msg == e.message:
        return e
    out = ConfigError("", hint=e.hint)
    out.path, out.line, out.field = e.path, e.line, e.field
    out.message = msg
    out.args = (msg,)
    return out


def _build(data: Any, path: Path, require_env: bool = True) -> Config:
    from deprecator.yamlio import item_line, key_line, suggest, type_name, value_line

    spath = str(path)
    root = path.parent

    def err(msg: str, line: int | None, fld: str | None, hint: str | None = None) -> ConfigError:
        return ConfigError(msg, path=spath, line=line, field=fld, hint=hint)

    def text(node: Any, key: Any, fld: str, value: Any = None) -> str | None:
        v = node.get(key) if value is None else value
        if v is None:
            return None
        if isinstance(v, (dict, list)):
            raise err(f"expected text, got {type_name(v)}", value_line(node, key), fld)
        return interpolate(str(v), path=spath, line=value_line(node, key), field=fld)

    def mapping(node: Any, key: str) -> dict[str, Any]:
        v = node.get(key)
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise err(f"expected a mapping, got {type_name(v)}", value_line(node, key), key)
        return v

    def unknown_keys(node: dict[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
        for k in node:
            if k not in allowed:
                raise err(f"unknown key `{k}`", key_line(node, k), f"{prefix}{k}",
                          hint=suggest(str(k), allowed) or f"known keys: {', '.join(allowed)}")

    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise err(f"expected a mapping of sections, got {type_name(data)}", 1, None)
    unknown_keys(data, TOP_LEVEL_KEYS + RESERVED_SECTIONS, "")

    # warehouse
    wh = mapping(data, "warehouse")
    unknown_keys(wh, WAREHOUSE_KEYS, "warehouse.")
    try:
        url = text(wh, "url", "warehouse.url") or None
    except MissingVariable:
        if require_env:
            raise
        url = None
    if url is not None:
        url = resolve_url_path(url, root)
    dialect_text = text(wh, "dialect", "warehouse.dialect") or None
    if dialect_text:
        dialect: str | None = check_dialect(dialect_text, path=spath, line=value_line(wh, "dialect"))
    elif url:
        dialect = infer_dialect(url)
        if dialect is None:
            raise err(f"cannot infer the SQL dialect from the URL {mask_url(url)!r}", value_line(wh, "url"),
                      "warehouse.url", hint="set warehouse.dialect (a sqlglot dialect name, e.g. postgres)")
        dialect = check_dialect(dialect, path=spath, line=value_line(wh, "url"))
    else:
        dialect = None
    schema: tuple[str, ...] = ()
    raw_schema = wh.get("default_schema")
    if isinstance(raw_schema, list):
        parts = []
        for i, s in enumerate(raw_schema):
            if not isinstance(s, (str, int)) or isinstance(s, bool):
                raise err(f"expected a schema name, got {type_name(s)}", item_line(raw_schema, i),
                          f"warehouse.default_schema[{i}]")
            parts.append(interpolate(str(s), path=spath, line=item_line(raw_schema, i),
                                     field=f"warehouse.default_schema[{i}]").strip())
        schema = tuple(p for p in parts if p)
    elif raw_schema is not None:
        s = text(wh, "default_schema", "warehouse.default_schema") or ""
        schema = tuple(x.strip() for x in s.split(",") if x.strip())
    if not schema and url and dialect in ("sqlite", "duckdb"):
        # One schema the engine itself searches: unqualified names mean main.x there, so the
        # scan must resolve them as plan (the adapter) does; PostgreSQL's comes from the server.
        schema = ("main",)
    catalog = text(wh, "default_catalog", "warehouse.default_catalog") or None
    try:
        lock_timeout = _duration(wh, "lock_timeout", spath, minimum_ms=1)
        lock_backoff = _duration(wh, "lock_backoff", spath, minimum_ms=0)
        lock_retries = _retries(wh, spath)
    except MissingVariable:
        if require_env:
            raise
        lock_timeout = lock_backoff = None   # commands that never apply do not need them
        lock_retries = None
    own_roles = _role_names(wh, spath)
    warehouse = WarehouseConfig(
        url=url, dialect=dialect, default_schema=schema, default_catalog=catalog,
        lock_timeout_ms=None if lock_timeout is None else max(1, round(lock_timeout * 1000)),
        lock_retries=lock_retries, lock_backoff_s=lock_backoff, own_roles=own_roles,
        line=key_line(data, "warehouse") if "warehouse" in data else None,
    )

    # dbt
    dbt_node = mapping(data, "dbt")
    unknown_keys(dbt_node, DBT_KEYS, "dbt.")
    manifest_text = text(dbt_node, "manifest", "dbt.manifest") or None
    dbt = DbtConfig(
        manifest=(root / os.path.expanduser(manifest_text)).resolve() if manifest_text else None,
        line=value_line(dbt_node, "manifest") if manifest_text else None,
    )

    # registry
    reg = data.get("registry")
    if isinstance(reg, dict):
        unknown_keys(reg, ("path",), "registry.")
        reg_text = text(reg, "path", "registry.path")
    elif reg is not None:
        reg_text = text(data, "registry", "registry")
    else:
        reg_text = None
    registry_path = (root / os.path.expanduser(reg_text or DEFAULT_REGISTRY_NAME)).resolve()

    # history
    history: list[HistorySourceConfig] = []
    raw_hist = data.get("history")
    if raw_hist is not None and not isinstance(raw_hist, list):
        raise err(f"expected a list of sources, got {type_name(raw_hist)}", value_line(data, "history"), "history")
    for i, src in enumerate(raw_hist or []):
        line = item_line(raw_hist, i)
        fld = f"history[{i}]"
        if not isinstance(src, dict):
            raise err(f"expected a mapping with `type:`, got {type_name(src)}", line, fld)
        kind = text(src, "type", f"{fld}.type")
        if not kind:
            raise err("missing `type` (file, pg_stat_statements or sql)", line, f"{fld}.type")
        if kind not in HISTORY_TYPES:
            raise err(f"unknown history source type {kind!r}", value_line(src, "type"), f"{fld}.type",
                      hint=suggest(kind, HISTORY_TYPES) or f"one of: {', '.join(HISTORY_TYPES)}")
        hpath_text = text(src, "path", f"{fld}.path")
        if kind == "file" and not hpath_text:
            raise err("a file source needs `path:` (a .jsonl or .csv export)", line, f"{fld}.path")
        options = {
            str(k): _plain(v, spath, key_line(src, k), f"{fld}.{k}", require_env)
            for k, v in src.items() if k not in ("type", "path")
        }
        history.append(HistorySourceConfig(
            type=kind,
            path=(root / os.path.expanduser(hpath_text)).resolve() if hpath_text else None,
            options=options,
            line=line,
        ))

    # paths
    sql_paths: list[str] = []
    raw_paths = data.get("paths")
    if isinstance(raw_paths, str):
        raw_paths_list: list[Any] = [raw_paths]
        lines: Callable[[int], int | None] = lambda i: value_line(data, "paths")  # noqa: E731
    elif isinstance(raw_paths, list):
        raw_paths_list = list(raw_paths)
        lines = lambda i: item_line(raw_paths, i)  # noqa: E731
    elif raw_paths is None:
        raw_paths_list, lines = [], (lambda i: None)
    else:
        raise err(f"expected a list of files, folders or globs, got {type_name(raw_paths)}",
                  value_line(data, "paths"), "paths")
    for i, item in enumerate(raw_paths_list):
        if not isinstance(item, str):
            raise err(f"expected a path or glob, got {type_name(item)}", lines(i), f"paths[{i}]")
        s = interpolate(item, path=spath, line=lines(i), field=f"paths[{i}]")
        s = os.path.expanduser(s)
        sql_paths.append(s if os.path.isabs(s) else str(root / s))

    # state
    state_url = DEFAULT_STATE_URL
    raw_state = data.get("state")
    if isinstance(raw_state, dict):
        unknown_keys(raw_state, ("url",), "state.")
        state_url = text(raw_state, "url", "state.url") or DEFAULT_STATE_URL
    elif raw_state is not None:
        state_url = text(data, "state", "state") or DEFAULT_STATE_URL
    state_url = resolve_url_path(state_url, root)

    # templates
    raw_templates = text(data, "templates", "templates")
    templates_dir = (root / os.path.expanduser(raw_templates)).resolve() if raw_templates else None
    if templates_dir is not None and not templates_dir.is_dir():
        raise err(f"templates folder {templates_dir} does not exist", value_line(data, "templates"), "templates",
                  hint="create it and copy the templates to change into it, or remove `templates:`")

    owners, slack = _owners_slack(data, spath, root)
    extra = {k: _plain(data[k], spath, key_line(data, k), k, require_env) for k in RESERVED_SECTIONS
             if k in data and k not in ("owners", "slack")}
    return Config(
        path=path,
        root=root,
        warehouse=warehouse,
        registry_path=registry_path,
        history=tuple(history),
        sql_paths=tuple(sql_paths),
        state_url=state_url,
        templates_dir=templates_dir,
        extra=extra,
        dbt=dbt,
        owners=owners,
        slack=slack,
    )


_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|min)\s*\Z", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "min": 60.0}


def _role_names(node: Any, path: str) -> tuple[str, ...]:
    """``own_roles``: a role name or a list of them, as the warehouse spells them (pg_roles.rolname)."""
    from deprecator.yamlio import item_line, type_name, value_line

    raw = node.get("own_roles")
    if raw is None:
        return ()
    items, lines = ([raw], [value_line(node, "own_roles")]) if not isinstance(raw, list) else \
        (list(raw), [item_line(raw, i) for i in range(len(raw))])
    out: list[str] = []
    for i, (v, line) in enumerate(zip(items, lines)):
        fld = f"warehouse.own_roles[{i}]" if isinstance(raw, list) else "warehouse.own_roles"
        if not isinstance(v, str):
            raise ConfigError(f"expected a role name, got {type_name(v)}", path=path, line=line, field=fld,
                              hint="e.g. own_roles: [deprecator_apply]")
        name = interpolate(v, path=path, line=line, field=fld).strip()
        if not name:
            raise ConfigError("empty role name", path=path, line=line, field=fld)
        out.append(name)
    return tuple(out)


def _retries(node: Any, path: str) -> int | None:
    """``lock_retries``: a whole number from 0 to 100 (None when absent)."""
    from deprecator.yamlio import value_line

    raw = node.get("lock_retries")
    if raw is None:
        return None
    line = value_line(node, "lock_retries")
    if isinstance(raw, str):
        raw = interpolate(raw, path=path, line=line, field="warehouse.lock_retries")
        raw = int(raw.strip()) if raw.strip().isdigit() else raw
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0 or raw > 100:
        raise ConfigError(f"expected a whole number of retries from 0 to 100, got {raw!r}", path=path, line=line,
                          field="warehouse.lock_retries", hint="e.g. lock_retries: 3 (0 = fail at the first lock timeout)")
    return raw


def _duration(node: Any, key: str, path: str, *, minimum_ms: int) -> float | None:
    """``2s``, ``500ms``, ``1.5s`` or ``1min`` -> seconds (None when the key is absent).

    A bare number is refused: PostgreSQL reads one as milliseconds, people often
    mean seconds, and a wrong guess is a 1000x error.
    """
    from deprecator.yamlio import value_line

    raw = node.get(key)
    if raw is None:
        return None
    fld, line = f"warehouse.{key}", value_line(node, key)
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise ConfigError(f"expected a duration such as 2s or 500ms, got {raw!r}", path=path, line=line, field=fld)
    s = interpolate(raw, path=path, line=line, field=fld) if isinstance(raw, str) else str(raw)
    m = _DURATION.match(s)
    if m is None:
        hint = f"write {s.strip()}ms or {s.strip()}s" if re.fullmatch(r"\s*\d+(\.\d+)?\s*", s) else None
        raise ConfigError(f"expected a duration with a unit (ms, s or min), got {s.strip()!r}", path=path,
                          line=line, field=fld, hint=hint or "e.g. 2s, 500ms, 1.5s, 1min")
    seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()]
    if seconds * 1000 < minimum_ms:
        raise ConfigError(f"{s.strip()} is too short: at least {minimum_ms} ms", path=path, line=line, field=fld,
                          hint="a lock_timeout of 0 would mean waiting forever, the opposite of its purpose"
                          if key == "lock_timeout" else None)
    return seconds


def _plain(value: Any, path: str, line: int | None, fld: str, require_env: bool = True) -> Any:
    """Round-trip YAML nodes -> plain dict/list/scalars, strings interpolated."""
    from deprecator.yamlio import item_line, value_line

    if isinstance(value, dict):
        return {str(k): _plain(v, path, value_line(value, k), f"{fld}.{k}", require_env) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, path, item_line(value, i), f"{fld}[{i}]", require_env) for i, v in enumerate(value)]
    if isinstance(value, str):
        try:
            return interpolate(str(value), path=path, line=line, field=fld)
        except MissingVariable:
            if require_env:
                raise
            return None
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


# --------------------------------------------------------------------------- owners and slack

@dataclass(frozen=True)
class OwnerTarget:
    """Where one owner (a person or a team) is told: a DM by email or Slack id, or a channel."""

    email: str | None = None
    slack_user: str | None = None        # a Slack user id (U...): no lookup by email
    slack_channel: str | None = None     # "#name" or a channel id: the owner's notices go there
    team: str | None = None
    name: str | None = None              # shown in messages; defaults to the history user name


@dataclass(frozen=True)
class OwnerPattern:
    match: str                           # a glob over history user names (fnmatch, case-insensitive)
    target: OwnerTarget
    line: int | None = None


@dataclass(frozen=True)
class OwnersConfig:
    """The `owners:` section: history user -> person or team."""

    users: Mapping[str, OwnerTarget] = field(default_factory=dict)
    patterns: tuple[OwnerPattern, ...] = ()    # first match wins
    email_domain: str | None = None            # otherwise user -> {user}@{email_domain}
    ignore: tuple[str, ...] = ()               # globs: users whose queries are the tool's own
    line: int | None = None


@dataclass(frozen=True)
class SlackConfig:
    """The `slack:` section. The token is never shown (repr, errors)."""

    token: str | None = None
    token_problem: ConfigError | None = None   # why there is no token (unset variable), raised when needed
    base_url: str = "https://slack.com/api/"
    fallback_channel: str | None = None
    digest_channel: str | None = None
    templates: Path | None = None              # a folder whose templates override the shipped ones
    cooldown_s: float = 7 * 86400              # a notice for the same (owner, deprecation) waits this long
    line: int | None = None

    def __repr__(self) -> str:
        return (f"SlackConfig(token={'***' if self.token else None}, base_url={self.base_url!r}, "
                f"fallback_channel={self.fallback_channel!r}, digest_channel={self.digest_channel!r}, "
                f"templates={self.templates!r}, cooldown_s={self.cooldown_s!r})")

    def require_token(self) -> str:
        if self.token:
            return self.token
        if self.token_problem is not None:
            raise self.token_problem
        raise ConfigError("no Slack token configured", field="slack.token",
                          hint="set slack.token: ${SLACK_BOT_TOKEN} in deprecator.yml and export SLACK_BOT_TOKEN")


OWNER_TARGET_KEYS = ("email", "slack_user", "slack_channel", "team", "name")
OWNERS_KEYS = ("users", "patterns", "email_domain", "ignore")
SLACK_KEYS = ("token", "base_url", "fallback_channel", "digest_channel", "templates", "cooldown")
_COOLDOWN = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|min|h|d|w)\s*\Z", re.IGNORECASE)
_COOLDOWN_UNITS = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _owners_slack(data: Any, spath: str, root: Path) -> tuple[OwnersConfig, SlackConfig]:
    """Parse and validate `owners:` and `slack:` (file:line:field errors)."""
    from deprecator.yamlio import item_line, key_line, suggest, type_name, value_line

    def err(msg: str, line: int | None, fld: str, hint: str | None = None) -> ConfigError:
        return ConfigError(msg, path=spath, line=line, field=fld, hint=hint)

    def section(node: Any, key: str, fld: str) -> dict[str, Any]:
        v = node.get(key)
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise err(f"expected a mapping, got {type_name(v)}", value_line(node, key), fld)
        return v

    def check_keys(node: dict[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
        for k in node:
            if k not in allowed:
                raise err(f"unknown key `{k}`", key_line(node, k), f"{prefix}.{k}",
                          hint=suggest(str(k), allowed) or f"known keys: {', '.join(allowed)}")

    def text(node: Any, key: Any, fld: str) -> str | None:
        v = node.get(key)
        if v is None:
            return None
        if isinstance(v, (dict, list)) or isinstance(v, bool):
            raise err(f"expected text, got {type_name(v)}", value_line(node, key), fld)
        s = interpolate(str(v), path=spath, line=value_line(node, key), field=fld).strip()
        return s or None

    def target(node: Any, line: int | None, fld: str, *, pattern: bool = False) -> OwnerTarget:
        if not isinstance(node, dict):
            raise err(f"expected a mapping such as {{email: alice@corp.example}}, got {type_name(node)}", line, fld)
        check_keys(node, OWNER_TARGET_KEYS + (("match",) if pattern else ()), fld)
        t = OwnerTarget(**{k: text(node, k, f"{fld}.{k}") for k in OWNER_TARGET_KEYS})
        if t.email is not None and not _EMAIL.match(t.email):
            raise err(f"{t.email!r} is not an email address", value_line(node, "email"), f"{fld}.email")
        if t.slack_channel is not None and not (t.slack_channel.startswith("#") or t.slack_channel[:1] in "CGD"):
            raise err(f"{t.slack_channel!r} is not a channel", value_line(node, "slack_channel"),
                      f"{fld}.slack_channel", hint='write "#name" (quoted in YAML) or a channel id such as C0123')
        if not (t.email or t.slack_user or t.slack_channel or t.team):
            raise err("says nowhere to send notices", line, fld,
                      hint="give email, slack_user or slack_channel (or team, to group users)")
        return t

    own = section(data, "owners", "owners")
    check_keys(own, OWNERS_KEYS, "owners")
    users: dict[str, OwnerTarget] = {}
    raw_users = section(own, "users", "owners.users")
    for name, node in raw_users.items():
        users[str(name)] = target(node, key_line(raw_users, name), f"owners.users.{name}")
    patterns: list[OwnerPattern] = []
    raw_patterns = own.get("patterns")
    if raw_patterns is not None and not isinstance(raw_patterns, list):
        raise err(f"expected a list of {{match: GLOB, ...}}, got {type_name(raw_patterns)}",
                  value_line(own, "patterns"), "owners.patterns")
    for i, node in enumerate(raw_patterns or []):
        fld, line = f"owners.patterns[{i}]", item_line(raw_patterns, i)
        if not isinstance(node, dict) or not text(node, "match", f"{fld}.match"):
            raise err("needs `match:` (a glob over history user names, e.g. \"svc_*\")", line, f"{fld}.match")
        patterns.append(OwnerPattern(str(text(node, "match", f"{fld}.match")),
                                     target(node, line, fld, pattern=True), line))
    domain = text(own, "email_domain", "owners.email_domain")
    if domain is not None:
        domain = domain.lstrip("@")
        if "@" in domain or "." not in domain or " " in domain:
            raise err(f"{domain!r} is not a mail domain", value_line(own, "email_domain"), "owners.email_domain",
                      hint="e.g. email_domain: corp.example")
    raw_ignore = own.get("ignore")
    if isinstance(raw_ignore, str):
        raw_ignore = [raw_ignore]
    if raw_ignore is not None and not isinstance(raw_ignore, list):
        raise err(f"expected a list of user names or globs, got {type_name(raw_ignore)}",
                  value_line(own, "ignore"), "owners.ignore")
    ignore = []
    for i, v in enumerate(raw_ignore or []):
        if not isinstance(v, (str, int)) or isinstance(v, bool):
            raise err(f"expected a user name, got {type_name(v)}", item_line(raw_ignore, i), f"owners.ignore[{i}]")
        ignore.append(str(v))
    owners = OwnersConfig(users, tuple(patterns), domain, tuple(ignore),
                          key_line(data, "owners") if "owners" in data else None)

    sl = section(data, "slack", "slack")
    check_keys(sl, SLACK_KEYS, "slack")
    token: str | None = None
    problem: ConfigError | None = None
    try:
        token = text(sl, "token", "slack.token")
    except MissingVariable as e:   # only `notify` (without --dry-run) needs it; others must not fail
        problem = e
    base_url = text(sl, "base_url", "slack.base_url") or "https://slack.com/api/"
    if not re.match(r"^https?://[^/\s]+", base_url):
        raise err(f"{base_url!r} is not an http(s) URL", value_line(sl, "base_url"), "slack.base_url",
                  hint="e.g. https://slack.com/api/")
    channels = {}
    for key in ("fallback_channel", "digest_channel"):
        c = text(sl, key, f"slack.{key}")
        if c is not None and not (c.startswith("#") or c[:1] in "CG"):
            raise err(f"{c!r} is not a channel", value_line(sl, key), f"slack.{key}",
                      hint='write "#name" (quoted in YAML) or a channel id such as C0123')
        channels[key] = c
    tpl = text(sl, "templates", "slack.templates")
    templates = (root / os.path.expanduser(tpl)).resolve() if tpl else None
    if templates is not None and not templates.is_dir():
        raise err(f"template folder {templates} does not exist", value_line(sl, "templates"), "slack.templates")
    cooldown = 7 * 86400.0
    raw_cd = sl.get("cooldown")
    if raw_cd is not None:
        s = text(sl, "cooldown", "slack.cooldown") or ""
        m = _COOLDOWN.match(s)
        if m is None:
            raise err(f"expected a duration such as 7d, 36h or 2w, got {s!r}", value_line(sl, "cooldown"),
                      "slack.cooldown")
        cooldown = float(m.group(1)) * _COOLDOWN_UNITS[m.group(2).lower()]
    slack = SlackConfig(token, problem, base_url, channels["fallback_channel"], channels["digest_channel"],
                        templates, cooldown, key_line(data, "slack") if "slack" in data else None)
    return owners, slack


# --------------------------------------------------------------------------- scaffolding

def _template(name: str) -> str:
    """A shipped template: from the installed ``deprecator.templates`` package, else the checkout."""
    from importlib.resources import files

    try:
        return files("deprecator.templates").joinpath(name).read_text(encoding="utf-8")
    except ModuleNotFoundError:
        # A source checkout run without installing: templates/ sits beside the package.
        return (Path(__file__).resolve().parent.parent / "templates" / name).read_text(encoding="utf-8")


DEFAULT_SCHEMAS = {"postgres": "public", "redshift": "public", "duckdb": "main", "sqlite": "main",
                   "snowflake": "PUBLIC"}


@dataclass(frozen=True)
class InitResult:
    written: tuple[Path, ...]
    kept: tuple[Path, ...]     # existing files left alone (no --force)


def init_project(config_path: str | os.PathLike[str], *, dialect: str = "postgres",
                 force: bool = False) -> InitResult:
    """Scaffold deprecator.yml and an empty deprecations.yml beside it.

    An existing file is kept unless ``force``; when both exist already it is a
    ConfigError (nothing to do).
    """
    import jinja2

    from deprecator.yamlio import write_atomic

    d = check_dialect(dialect, field="--dialect")
    cfg = Path(config_path).absolute()
    reg = cfg.parent / DEFAULT_REGISTRY_NAME
    existing = [p for p in (cfg, reg) if p.exists()] if not force else []
    if len(existing) == 2:
        raise ConfigError(f"{cfg} and {reg} already exist; nothing was written",
                          hint="pass --force to overwrite them")
    env = jinja2.Environment(keep_trailing_newline=True, undefined=jinja2.StrictUndefined, autoescape=False)
    written = []
    if cfg not in existing:
        config_text = env.from_string(_template("deprecator.yml.j2")).render(
            dialect=d, default_schema=DEFAULT_SCHEMAS.get(d), registry=DEFAULT_REGISTRY_NAME)
        write_atomic(cfg, config_text)
        written.append(cfg)
    if reg not in existing:
        write_atomic(reg, _template("deprecations.yml"))
        written.append(reg)
    return InitResult(tuple(written), tuple(existing))
