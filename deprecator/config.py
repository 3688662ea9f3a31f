"""deprecator.yml: loading, ${ENV} interpolation and validation."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from deprecator.errors import ConfigError
from deprecator.redact import mask_url, redact

if TYPE_CHECKING:
    from deprecator.registry import Registry


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

    def load_registry(self) -> Registry:
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


# sqlglot's dialect names (sqlglot.dialects.Dialects) for the pinned version, written out so
# that `init` and reading deprecator.yml need not import sqlglot; tests/test_config.py checks
# they still match sqlglot's.
KNOWN_DIALECTS = (
    "athena", "bigquery", "clickhouse", "databricks", "dax", "doris", "dremio", "drill", "druid", "duckdb", "dune",
    "exasol", "fabric", "hive", "materialize", "mysql", "oracle", "postgres", "presto", "prql", "redshift",
    "risingwave", "snowflake", "solr", "spark", "spark2", "sqlite", "starrocks", "tableau", "teradata", "trino",
    "tsql",
)


def known_dialects() -> tuple[str, ...]:
    return KNOWN_DIALECTS


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


def _quote_hint(value: Any) -> str:
    """What to write for a name YAML read as a number, boolean or date."""
    return f'quote it to mean the text: "{value}"'


@dataclass(frozen=True)
class _Reader:
    """Reads one deprecator.yml: every error names this file, the line and the field."""

    path: str                            # the file, as errors name it
    root: Path                           # folder relative paths resolve from

    def err(self, msg: str, line: int | None, fld: str | None, hint: str | None = None) -> ConfigError:
        return ConfigError(msg, path=self.path, line=line, field=fld, hint=hint)

    def text(self, node: Any, key: Any, fld: str) -> str | None:
        """A text scalar, ${VAR} interpolated (None when absent or empty); a number, boolean or date is refused."""
        from deprecator.yamlio import type_name, value_line

        v = node.get(key)
        if v is None:
            return None
        if not isinstance(v, str):   # a YAML number, boolean or date is not the name it looks like
            raise self.err(f"expected text, got {type_name(v)}", value_line(node, key), fld,
                           hint=None if isinstance(v, (dict, list)) else _quote_hint(v))
        return interpolate(v, path=self.path, line=value_line(node, key), field=fld)

    def word(self, node: Any, key: Any, fld: str) -> str | None:
        """Like ``text`` but refusing true/false and stripped (None when blank): names, channels, URLs."""
        from deprecator.yamlio import type_name, value_line

        v = node.get(key)
        if v is None:
            return None
        if isinstance(v, (dict, list)) or isinstance(v, bool):
            raise self.err(f"expected text, got {type_name(v)}", value_line(node, key), fld)
        s = interpolate(str(v), path=self.path, line=value_line(node, key), field=fld).strip()
        return s or None

    def mapping(self, node: Any, key: str, fld: str | None = None) -> dict[str, Any]:
        """The mapping under ``key`` ({} when absent)."""
        from deprecator.yamlio import type_name, value_line

        v = node.get(key)
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise self.err(f"expected a mapping, got {type_name(v)}", value_line(node, key), fld or key)
        return v

    def unknown_keys(self, node: dict[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
        from deprecator.yamlio import key_line, suggest

        for k in node:
            if k not in allowed:
                raise self.err(f"unknown key `{k}`", key_line(node, k), f"{prefix}{k}",
                               hint=suggest(str(k), allowed) or f"known keys: {', '.join(allowed)}")

    def resolve(self, text: str) -> Path:
        """A path from the file, relative to its folder (``~`` expanded)."""
        return (self.root / os.path.expanduser(text)).resolve()


def _build(data: Any, path: Path, require_env: bool = True) -> Config:
    """The Config of parsed deprecator.yml ``data``; the first problem found is raised.

    Sections are read in a fixed order (warehouse, dbt, registry, history, paths, state,
    templates, owners, slack), which decides which error a file with several shows.
    """
    from deprecator.yamlio import key_line, type_name

    r = _Reader(str(path), path.parent)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise r.err(f"expected a mapping of sections, got {type_name(data)}", 1, None)
    r.unknown_keys(data, TOP_LEVEL_KEYS + RESERVED_SECTIONS, "")
    warehouse = _warehouse(r, data, require_env)
    dbt = _dbt(r, data)
    registry_path = _registry_path(r, data)
    history = _history(r, data, require_env)
    sql_paths = _sql_paths(r, data)
    state_url = _state_url(r, data)
    templates_dir = _templates_dir(r, data)
    owners = _owners(r, data)
    slack = _slack(r, data)
    extra = {k: _plain(data[k], r.path, key_line(data, k), k, require_env) for k in RESERVED_SECTIONS
             if k in data and k not in ("owners", "slack")}
    return Config(
        path=path,
        root=r.root,
        warehouse=warehouse,
        registry_path=registry_path,
        history=history,
        sql_paths=sql_paths,
        state_url=state_url,
        templates_dir=templates_dir,
        extra=extra,
        dbt=dbt,
        owners=owners,
        slack=slack,
    )


def _warehouse(r: _Reader, data: dict[str, Any], require_env: bool) -> WarehouseConfig:
    """The `warehouse:` section."""
    from deprecator.yamlio import key_line

    wh = r.mapping(data, "warehouse")
    r.unknown_keys(wh, WAREHOUSE_KEYS, "warehouse.")
    try:
        url = r.text(wh, "url", "warehouse.url") or None
    except MissingVariable:
        if require_env:
            raise
        url = None
    if url is not None:
        url = resolve_url_path(url, r.root)
    dialect = _warehouse_dialect(r, wh, url)
    schema = _default_schema(r, wh)
    if not schema and url and dialect in ("sqlite", "duckdb"):
        # One schema the engine itself searches: unqualified names mean main.x there, so the
        # scan must resolve them as plan (the adapter) does; PostgreSQL's comes from the server.
        schema = ("main",)
    catalog = r.text(wh, "default_catalog", "warehouse.default_catalog") or None
    try:
        lock_timeout = _duration(wh, "lock_timeout", r.path, minimum_ms=1)
        lock_backoff = _duration(wh, "lock_backoff", r.path, minimum_ms=0)
        lock_retries = _retries(wh, r.path)
    except MissingVariable:
        if require_env:
            raise
        lock_timeout = lock_backoff = None   # commands that never apply do not need them
        lock_retries = None
    own_roles = _role_names(wh, r.path)
    return WarehouseConfig(
        url=url, dialect=dialect, default_schema=schema, default_catalog=catalog,
        lock_timeout_ms=None if lock_timeout is None else max(1, round(lock_timeout * 1000)),
        lock_retries=lock_retries, lock_backoff_s=lock_backoff, own_roles=own_roles,
        line=key_line(data, "warehouse") if "warehouse" in data else None,
    )


def _warehouse_dialect(r: _Reader, wh: dict[str, Any], url: str | None) -> str | None:
    """``warehouse.dialect``, else inferred from the URL's scheme (None without either)."""
    from deprecator.yamlio import value_line

    dialect_text = r.text(wh, "dialect", "warehouse.dialect") or None
    if dialect_text:
        return check_dialect(dialect_text, path=r.path, line=value_line(wh, "dialect"))
    if not url:
        return None
    dialect = infer_dialect(url)
    if dialect is None:
        raise r.err(f"cannot infer the SQL dialect from the URL {mask_url(url)!r}", value_line(wh, "url"),
                    "warehouse.url", hint="set warehouse.dialect (a sqlglot dialect name, e.g. postgres)")
    return check_dialect(dialect, path=r.path, line=value_line(wh, "url"))


def _default_schema(r: _Reader, wh: dict[str, Any]) -> tuple[str, ...]:
    """``warehouse.default_schema``: a list of schema names, or one text with commas."""
    from deprecator.yamlio import item_line, type_name

    raw_schema = wh.get("default_schema")
    if isinstance(raw_schema, list):
        parts = []
        for i, s in enumerate(raw_schema):
            if not isinstance(s, str):
                raise r.err(f"expected a schema name, got {type_name(s)}", item_line(raw_schema, i),
                            f"warehouse.default_schema[{i}]",
                            hint=None if isinstance(s, (dict, list)) else _quote_hint(s))
            parts.append(interpolate(s, path=r.path, line=item_line(raw_schema, i),
                                     field=f"warehouse.default_schema[{i}]").strip())
        return tuple(p for p in parts if p)
    if raw_schema is None:
        return ()
    s = r.text(wh, "default_schema", "warehouse.default_schema") or ""
    return tuple(x.strip() for x in s.split(",") if x.strip())


def _dbt(r: _Reader, data: dict[str, Any]) -> DbtConfig:
    """The `dbt:` section."""
    from deprecator.yamlio import value_line

    dbt_node = r.mapping(data, "dbt")
    r.unknown_keys(dbt_node, DBT_KEYS, "dbt.")
    manifest_text = r.text(dbt_node, "manifest", "dbt.manifest") or None
    return DbtConfig(
        manifest=r.resolve(manifest_text) if manifest_text else None,
        line=value_line(dbt_node, "manifest") if manifest_text else None,
    )


def _registry_path(r: _Reader, data: dict[str, Any]) -> Path:
    """`registry:` as a path, or as a mapping with `path:` (deprecations.yml beside the config by default)."""
    reg = data.get("registry")
    if isinstance(reg, dict):
        r.unknown_keys(reg, ("path",), "registry.")
        reg_text = r.text(reg, "path", "registry.path")
    elif reg is not None:
        reg_text = r.text(data, "registry", "registry")
    else:
        reg_text = None
    return r.resolve(reg_text or DEFAULT_REGISTRY_NAME)


def _history(r: _Reader, data: dict[str, Any], require_env: bool) -> tuple[HistorySourceConfig, ...]:
    """The `history:` list of query-history sources."""
    from deprecator.yamlio import type_name, value_line

    raw_hist = data.get("history")
    if raw_hist is not None and not isinstance(raw_hist, list):
        raise r.err(f"expected a list of sources, got {type_name(raw_hist)}", value_line(data, "history"), "history")
    return tuple(_history_source(r, raw_hist, i, require_env) for i in range(len(raw_hist or [])))


def _history_source(r: _Reader, raw_hist: Any, i: int, require_env: bool) -> HistorySourceConfig:
    """Item ``i`` of `history:`: `type:`, `path:` and the source's own options."""
    from deprecator.yamlio import item_line, key_line, suggest, type_name, value_line

    src = raw_hist[i]
    line = item_line(raw_hist, i)
    fld = f"history[{i}]"
    if not isinstance(src, dict):
        raise r.err(f"expected a mapping with `type:`, got {type_name(src)}", line, fld)
    kind = r.text(src, "type", f"{fld}.type")
    if not kind:
        raise r.err("missing `type` (file, pg_stat_statements or sql)", line, f"{fld}.type")
    if kind not in HISTORY_TYPES:
        raise r.err(f"unknown history source type {kind!r}", value_line(src, "type"), f"{fld}.type",
                    hint=suggest(kind, HISTORY_TYPES) or f"one of: {', '.join(HISTORY_TYPES)}")
    hpath_text = r.text(src, "path", f"{fld}.path")
    if kind == "file" and not hpath_text:
        raise r.err("a file source needs `path:` (a .jsonl or .csv export)", line, f"{fld}.path")
    options = {
        str(k): _plain(v, r.path, key_line(src, k), f"{fld}.{k}", require_env)
        for k, v in src.items() if k not in ("type", "path")
    }
    return HistorySourceConfig(
        type=kind,
        path=r.resolve(hpath_text) if hpath_text else None,
        options=options,
        line=line,
    )


def _sql_paths(r: _Reader, data: dict[str, Any]) -> tuple[str, ...]:
    """`paths:`: one file, folder or glob, or a list of them, relative to the config's folder."""
    from deprecator.yamlio import item_line, type_name, value_line

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
        raise r.err(f"expected a list of files, folders or globs, got {type_name(raw_paths)}",
                    value_line(data, "paths"), "paths")
    sql_paths: list[str] = []
    for i, item in enumerate(raw_paths_list):
        if not isinstance(item, str):
            raise r.err(f"expected a path or glob, got {type_name(item)}", lines(i), f"paths[{i}]")
        s = interpolate(item, path=r.path, line=lines(i), field=f"paths[{i}]")
        s = os.path.expanduser(s)
        sql_paths.append(s if os.path.isabs(s) else str(r.root / s))
    return tuple(sql_paths)


def _state_url(r: _Reader, data: dict[str, Any]) -> str:
    """`state:` as a URL, or as a mapping with `url:` (SQLite under .deprecator/ by default)."""
    state_url = DEFAULT_STATE_URL
    raw_state = data.get("state")
    if isinstance(raw_state, dict):
        r.unknown_keys(raw_state, ("url",), "state.")
        state_url = r.text(raw_state, "url", "state.url") or DEFAULT_STATE_URL
    elif raw_state is not None:
        state_url = r.text(data, "state", "state") or DEFAULT_STATE_URL
    return resolve_url_path(state_url, r.root)


def _templates_dir(r: _Reader, data: dict[str, Any]) -> Path | None:
    """`templates:`: an existing folder of the user's own templates (None: the shipped ones)."""
    from deprecator.yamlio import value_line

    raw_templates = r.text(data, "templates", "templates")
    templates_dir = r.resolve(raw_templates) if raw_templates else None
    if templates_dir is not None and not templates_dir.is_dir():
        raise r.err(f"templates folder {templates_dir} does not exist", value_line(data, "templates"), "templates",
                    hint="create it and copy the templates to change into it, or remove `templates:`")
    return templates_dir


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


def _owner_target(r: _Reader, node: Any, line: int | None, fld: str, *, pattern: bool = False) -> OwnerTarget:
    """Where one owner is told (an entry of `owners.users` or `owners.patterns`)."""
    from deprecator.yamlio import type_name, value_line

    if not isinstance(node, dict):
        raise r.err(f"expected a mapping such as {{email: alice@corp.example}}, got {type_name(node)}", line, fld)
    r.unknown_keys(node, OWNER_TARGET_KEYS + (("match",) if pattern else ()), f"{fld}.")
    t = OwnerTarget(**{k: r.word(node, k, f"{fld}.{k}") for k in OWNER_TARGET_KEYS})
    if t.email is not None and not _EMAIL.match(t.email):
        raise r.err(f"{t.email!r} is not an email address", value_line(node, "email"), f"{fld}.email")
    if t.slack_channel is not None and not (t.slack_channel.startswith("#") or t.slack_channel[:1] in "CGD"):
        raise r.err(f"{t.slack_channel!r} is not a channel", value_line(node, "slack_channel"),
                    f"{fld}.slack_channel", hint='write "#name" (quoted in YAML) or a channel id such as C0123')
    if not (t.email or t.slack_user or t.slack_channel or t.team):
        raise r.err("says nowhere to send notices", line, fld,
                    hint="give email, slack_user or slack_channel (or team, to group users)")
    return t


def _owners(r: _Reader, data: dict[str, Any]) -> OwnersConfig:
    """The `owners:` section: history user -> person or team (file:line:field errors)."""
    from deprecator.yamlio import key_line, value_line

    own = r.mapping(data, "owners", "owners")
    r.unknown_keys(own, OWNERS_KEYS, "owners.")
    users: dict[str, OwnerTarget] = {}
    raw_users = r.mapping(own, "users", "owners.users")
    for name, node in raw_users.items():
        users[str(name)] = _owner_target(r, node, key_line(raw_users, name), f"owners.users.{name}")
    patterns = _owner_patterns(r, own)
    domain = r.word(own, "email_domain", "owners.email_domain")
    if domain is not None:
        domain = domain.lstrip("@")
        if "@" in domain or "." not in domain or " " in domain:
            raise r.err(f"{domain!r} is not a mail domain", value_line(own, "email_domain"), "owners.email_domain",
                        hint="e.g. email_domain: corp.example")
    return OwnersConfig(users, patterns, domain, _owners_ignore(r, own),
                        key_line(data, "owners") if "owners" in data else None)


def _owner_patterns(r: _Reader, own: dict[str, Any]) -> tuple[OwnerPattern, ...]:
    """`owners.patterns`: globs over history user names, first match wins."""
    from deprecator.yamlio import item_line, type_name, value_line

    raw_patterns = own.get("patterns")
    if raw_patterns is not None and not isinstance(raw_patterns, list):
        raise r.err(f"expected a list of {{match: GLOB, ...}}, got {type_name(raw_patterns)}",
                    value_line(own, "patterns"), "owners.patterns")
    patterns: list[OwnerPattern] = []
    for i, node in enumerate(raw_patterns or []):
        fld, line = f"owners.patterns[{i}]", item_line(raw_patterns, i)
        if not isinstance(node, dict) or not r.word(node, "match", f"{fld}.match"):
            raise r.err("needs `match:` (a glob over history user names, e.g. \"svc_*\")", line, f"{fld}.match")
        patterns.append(OwnerPattern(str(r.word(node, "match", f"{fld}.match")),
                                     _owner_target(r, node, line, fld, pattern=True), line))
    return tuple(patterns)


def _owners_ignore(r: _Reader, own: dict[str, Any]) -> tuple[str, ...]:
    """`owners.ignore`: a user name or glob, or a list of them."""
    from deprecator.yamlio import item_line, type_name, value_line

    raw_ignore = own.get("ignore")
    if isinstance(raw_ignore, str):
        raw_ignore = [raw_ignore]
    if raw_ignore is not None and not isinstance(raw_ignore, list):
        raise r.err(f"expected a list of user names or globs, got {type_name(raw_ignore)}",
                    value_line(own, "ignore"), "owners.ignore")
    ignore = []
    for i, v in enumerate(raw_ignore or []):
        if not isinstance(v, (str, int)) or isinstance(v, bool):
            raise r.err(f"expected a user name, got {type_name(v)}", item_line(raw_ignore, i), f"owners.ignore[{i}]")
        ignore.append(str(v))
    return tuple(ignore)


def _slack(r: _Reader, data: dict[str, Any]) -> SlackConfig:
    """The `slack:` section (file:line:field errors; an unset token is kept as a problem, not raised)."""
    from deprecator.yamlio import key_line, value_line

    sl = r.mapping(data, "slack", "slack")
    r.unknown_keys(sl, SLACK_KEYS, "slack.")
    token: str | None = None
    problem: ConfigError | None = None
    try:
        token = r.word(sl, "token", "slack.token")
    except MissingVariable as e:   # only `notify` (without --dry-run) needs it; others must not fail
        problem = e
    base_url = r.word(sl, "base_url", "slack.base_url") or "https://slack.com/api/"
    if not re.match(r"^https?://[^/\s]+", base_url):
        raise r.err(f"{base_url!r} is not an http(s) URL", value_line(sl, "base_url"), "slack.base_url",
                    hint="e.g. https://slack.com/api/")
    channels = {}
    for key in ("fallback_channel", "digest_channel"):
        c = r.word(sl, key, f"slack.{key}")
        if c is not None and not (c.startswith("#") or c[:1] in "CG"):
            raise r.err(f"{c!r} is not a channel", value_line(sl, key), f"slack.{key}",
                        hint='write "#name" (quoted in YAML) or a channel id such as C0123')
        channels[key] = c
    tpl = r.word(sl, "templates", "slack.templates")
    templates = r.resolve(tpl) if tpl else None
    if templates is not None and not templates.is_dir():
        raise r.err(f"template folder {templates} does not exist", value_line(sl, "templates"), "slack.templates")
    return SlackConfig(token, problem, base_url, channels["fallback_channel"], channels["digest_channel"],
                       templates, _cooldown(r, sl), key_line(data, "slack") if "slack" in data else None)


def _cooldown(r: _Reader, sl: dict[str, Any]) -> float:
    """`slack.cooldown` in seconds (7 days when absent)."""
    from deprecator.yamlio import value_line

    if sl.get("cooldown") is None:
        return 7 * 86400.0
    s = r.word(sl, "cooldown", "slack.cooldown") or ""
    m = _COOLDOWN.match(s)
    if m is None:
        raise r.err(f"expected a duration such as 7d, 36h or 2w, got {s!r}", value_line(sl, "cooldown"),
                    "slack.cooldown")
    return float(m.group(1)) * _COOLDOWN_UNITS[m.group(2).lower()]


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
