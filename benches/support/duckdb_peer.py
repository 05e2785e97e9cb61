"""The DuckDB peer: what a data person would build without muster.

Loads the same SB CSV files muster imports into a DuckDB database, turns occurrences into
membership spans with set-based SQL (gaps and islands over window functions), and answers
the report's questions. Run by benches/support/duckdb.rs, one operation per process, so its
time includes Python's and DuckDB's start as muster's includes its own.

Owns: the peer's SQL and its command line. Must not: time anything (the report does), or
print anything but answers on standard output (and, when MUSTER_REPORT_PEAK_MEMORY is set,
its peak memory on standard error).

The SQL follows muster's rules as the SQLite peer (benches/support/peer.rs) does: an
occurrence's date is the Sunday of its DateIdent week (or its rota week's) plus GroupDay; a
member present at a run of consecutive observed dates of a group is a member from the first
of them until the day before the group's next observed date (inclusive ends_on, NULL while
open).

Usage: duckdb_peer.py OPERATION DATABASE [ARGUMENTS]
  import DIR | append DIR | rebuild | members GROUP DATE | groups MEMBER DATE |
  history MEMBER | members-batch (lines "GROUP<TAB>DATE" on standard input)
"""

import os
import sys

import duckdb

# An SB day is ISO (yyyy-mm-dd) or dd/mm/yyyy, either possibly followed by a time.
DAY = """CAST(CASE WHEN substr(trim({0}), 5, 1) = '-'
                   THEN strptime(substr(trim({0}), 1, 10), '%Y-%m-%d')
                   ELSE strptime(split_part(trim({0}), ' ', 1), '%d/%m/%Y') END AS DATE)"""


def csv(directory, name):
    path = os.path.join(directory, name).replace("'", "''")
    return f"read_csv('{path}', header = true, all_varchar = true, quote = '\"')"


def load_staging(connection, directory, replace):
    """The four SB files the rules need, as staging tables (replacing them, or adding to
    them with the newer row winning for keyed tables)."""
    staged = {
        "days": f"""SELECT CAST(trim(DateIdent) AS BIGINT) AS date_ident, {DAY.format('Days')} AS day
                    FROM {csv(directory, 'days.csv')}""",
        "rota_weeks": f"""SELECT CAST(trim(RTRotaWeekIdent) AS BIGINT) AS week_ident,
                                 TRY_CAST(trim(DateIdent) AS BIGINT) AS date_ident
                          FROM {csv(directory, 'rtrotaweek.csv')}""",
        "occurrences": f"""SELECT CAST(trim(RTRWGroupsIdent) AS BIGINT) AS occurrence,
                                  TRY_CAST(trim(RTRotaWeekIdent) AS BIGINT) AS week_ident,
                                  trim(GroupIdent) AS group_id,
                                  CAST(trim(GroupDay) AS INTEGER) AS group_day,
                                  TRY_CAST(trim(DateIdent) AS BIGINT) AS date_ident
                           FROM {csv(directory, 'rtrwgroups.csv')}""",
        "attendance": f"""SELECT trim(PupOrigNum) AS member_id,
                                 CAST(trim(RTRWGroupsIdent) AS BIGINT) AS occurrence
                          FROM {csv(directory, 'rtrwpupils.csv')}""",
    }
    keys = {"days": "date_ident", "rota_weeks": "week_ident", "occurrences": "occurrence"}
    for table, select in staged.items():
        if replace:
            connection.execute(f"CREATE OR REPLACE TABLE {table} AS {select}")
            continue
        connection.execute(f"CREATE OR REPLACE TEMP TABLE incoming AS {select}")
        key = keys.get(table)
        if key:
            connection.execute(
                f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM incoming)"
            )
        connection.execute(f"INSERT INTO {table} SELECT * FROM incoming")


# Occurrences → observed dates → runs of presence (gaps and islands) → spans.
FILL_MEMBERSHIPS = """
CREATE OR REPLACE TABLE memberships AS
WITH week_day AS (
    SELECT o.occurrence, o.group_id, o.group_day, COALESCE(d.day, dw.day) AS day
    FROM occurrences o
    LEFT JOIN days d ON d.date_ident = o.date_ident
    LEFT JOIN rota_weeks w ON w.week_ident = o.week_ident
    LEFT JOIN days dw ON dw.date_ident = w.date_ident
),
occurrence_date AS (
    SELECT occurrence, group_id,
           CAST(day - CAST(dayofweek(day) AS INTEGER) + group_day AS DATE) AS on_date
    FROM week_day WHERE day IS NOT NULL
),
observed AS (
    SELECT group_id, on_date,
           row_number() OVER (PARTITION BY group_id ORDER BY on_date) AS position
    FROM (SELECT DISTINCT group_id, on_date FROM occurrence_date)
),
present AS (
    SELECT DISTINCT od.group_id, a.member_id, od.on_date
    FROM attendance a JOIN occurrence_date od ON od.occurrence = a.occurrence
),
runs AS (
    SELECT p.group_id, p.member_id, p.on_date, o.position,
           o.position - row_number() OVER (PARTITION BY p.group_id, p.member_id
                                            ORDER BY p.on_date) AS run
    FROM present p JOIN observed o ON o.group_id = p.group_id AND o.on_date = p.on_date
),
spans AS (
    SELECT group_id, member_id, min(on_date) AS starts_on, max(position) AS last_position
    FROM runs GROUP BY group_id, member_id, run
)
SELECT s.group_id, s.member_id, s.starts_on, CAST(next.on_date - 1 AS DATE) AS ends_on
FROM spans s LEFT JOIN observed next
  ON next.group_id = s.group_id AND next.position = s.last_position + 1
ORDER BY s.group_id, s.starts_on
"""

MEMBERS = """SELECT DISTINCT member_id FROM memberships
             WHERE group_id = $1 AND starts_on <= CAST($2 AS DATE)
               AND (ends_on IS NULL OR ends_on >= CAST($2 AS DATE))
             ORDER BY member_id"""
GROUPS = """SELECT DISTINCT group_id FROM memberships
            WHERE member_id = $1 AND starts_on <= CAST($2 AS DATE)
              AND (ends_on IS NULL OR ends_on >= CAST($2 AS DATE))
            ORDER BY group_id"""
HISTORY = """SELECT group_id, starts_on, ends_on FROM memberships WHERE member_id = $1
             ORDER BY group_id, starts_on"""


def text(value):
    return "" if value is None else str(value)


def rows(connection, query, parameters):
    return connection.execute(query, parameters).fetchall()


def main(arguments):
    if len(arguments) < 2:
        sys.exit(__doc__)
    operation, database, rest = arguments[0], arguments[1], arguments[2:]
    connection = duckdb.connect(database)
    out = sys.stdout
    if operation in ("import", "append"):
        connection.execute("BEGIN")
        load_staging(connection, rest[0], replace=operation == "import")
        connection.execute(FILL_MEMBERSHIPS)
        connection.execute("COMMIT")
        count = connection.execute("SELECT count(*) FROM memberships").fetchone()[0]
        out.write(f"{count}\n")
    elif operation == "rebuild":
        connection.execute(FILL_MEMBERSHIPS)
        out.write("0\n")
    elif operation == "members":
        out.writelines(f"{r[0]}\n" for r in rows(connection, MEMBERS, rest[:2]))
    elif operation == "groups":
        out.writelines(f"{r[0]}\n" for r in rows(connection, GROUPS, rest[:2]))
    elif operation == "history":
        out.writelines(
            f"{r[0]}\t{text(r[1])}\t{text(r[2])}\n"
            for r in rows(connection, HISTORY, rest[:1])
        )
    elif operation == "members-batch":
        for line in sys.stdin:
            group, on = line.rstrip("\n").split("\t")
            members = [r[0] for r in rows(connection, MEMBERS, [group, on])]
            out.write(f"{group}\t{on}\t{','.join(members)}\n")
    else:
        sys.exit(f"duckdb peer: unknown operation {operation}")
    connection.close()
    if os.environ.get("MUSTER_REPORT_PEAK_MEMORY"):
        # VmHWM, as muster and the SQLite peer report it: getrusage's ru_maxrss would
        # count the parent's memory from before the exec.
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    peak = line.split()[1]
                    sys.stderr.write(f"peak_memory_kb={peak}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
