#!/usr/bin/env python3
"""Downloads every migrated attachment file from a real Twenty target and compares its sha256
with the source file in the source storage folder.

Usage: compare-files.py SOURCE_PG_URL WORKSPACE_ID STORAGE_DIR
  with TWENTY_TARGET_URL and TWENTY_API_KEY in the environment (never printed).
Reads the source read-only (psql), the target through GET /rest/attachments and each FILES
value's signed `url`. Prints the counts; exits 1 on a missing or differing file.
"""
import hashlib, json, os, subprocess, sys, urllib.request, uuid, glob

src, workspace, storage = sys.argv[1:4]
target = os.environ["TWENTY_TARGET_URL"].rstrip("/")
key = os.environ["TWENTY_API_KEY"]
NAMESPACE = uuid.UUID("7c1d5e9a-4b2f-4d0e-9a61-2f3b8c4d5e6f")  # transform::ID_NAMESPACE


def target_id(source: str) -> str:
    """The id the tool gives a record: the same, or the UUIDv5 of its 16 bytes (README)."""
    u = uuid.UUID(source)
    if u.variant == uuid.RFC_4122 and 1 <= (u.version or 0) <= 5:
        return str(u)
    return str(uuid.UUID(bytes=hashlib.sha1(NAMESPACE.bytes + u.bytes).digest()[:16], version=5))


def psql(sql: str) -> str:
    return subprocess.run(["psql", src, "-At", "-c", sql], check=True, capture_output=True, text=True).stdout


schema = psql(f"select \"databaseSchema\" from core.workspace where id='{workspace}'").strip()
rows = psql(f'select id, file::text from "{schema}".attachment where "deletedAt" is null')
want = {}
for line in rows.splitlines():
    rid, files = line.split("|", 1)
    for f in json.loads(files or "[]"):
        hits = glob.glob(f"{storage}/{workspace}/**/*{f['fileId']}*", recursive=True)
        digest = hashlib.sha256(open(hits[0], "rb").read()).hexdigest() if hits else None
        want[(target_id(rid), f["label"])] = digest


def get(url: str, auth: bool = True) -> bytes:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if auth else {})
    with urllib.request.urlopen(req) as r:
        return r.read()


got, after = {}, None
while True:
    url = f"{target}/rest/attachments?limit=200" + (f"&starting_after={after}" if after else "")
    page = json.loads(get(url))
    records = page["data"]["attachments"]
    for r in records:
        for f in r.get("file") or []:
            got[(r["id"], f["label"])] = hashlib.sha256(get(f["url"], auth=False)).hexdigest()
    if not page.get("pageInfo", {}).get("hasNextPage"):
        break
    after = page["pageInfo"]["endCursor"]

missing_source = sum(1 for v in want.values() if v is None)
same = sum(1 for k, v in want.items() if v is not None and got.get(k) == v)
differ = [k for k, v in want.items() if v is not None and k in got and got[k] != v]
absent = [k for k, v in want.items() if v is not None and k not in got]
print(f"source files {len(want)} (missing in source storage {missing_source}); target files {len(got)}; "
      f"equal by sha256 {same}; differing {len(differ)}; "
      f"not in the target {len(absent)} (the migration report counts those attachments as skipped or rejected)")
for k in differ[:10]:
    print("  differs:", k)
sys.exit(1 if differ else 0)
