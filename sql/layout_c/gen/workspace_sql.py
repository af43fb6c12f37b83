#!/usr/bin/env python3
"""Writes sql/layout_c/workspace.sql and src/fixture/declared.rs from one description.

The layout C workspace template declares ~30 objects and ~500 fields. Writing that SQL by hand
would let the DDL and the metadata rows drift apart, so both are printed from the tables below.
The output is committed: the crate embeds workspace.sql with include_str! and never runs this.

Run from the repository root after editing:  python3 sql/layout_c/gen/workspace_sql.py

Standard objects and fields come from ../shared/twenty-reference/standard-model-2x.json when it
is present (the facts file of this project, each fact citing its twentyhq/twenty source); a
frozen copy of what was taken from it lives in standard_model.json next to this script so the
script also runs from a clean clone.
"""

import json
import os
import subprocess
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
FROZEN = os.path.join(HERE, "standard_model.json")
REFERENCE = os.path.normpath(
    os.path.join(ROOT, "..", "shared", "twenty-reference", "standard-model-2x.json")
)

# Option ids and standard-field universal identifiers we could not read are derived with uuid5 in
# this namespace, so every run prints the same file.
NS = uuid.UUID("6f1c1f8e-4d0e-4a8e-9a57-7a3c0d1e2f30")


def uid(*parts):
    return str(uuid.uuid5(NS, "/".join(parts)))


# --- standard objects ------------------------------------------------------------------------

# Objects of the fixture taken from the reference model.
STANDARD = [
    "company", "person", "opportunity", "note", "task", "noteTarget", "taskTarget",
    "attachment", "workspaceMember", "timelineActivity", "workflow", "workflowVersion",
    "workflowRun", "workflowAutomatedTrigger", "dashboard", "blocklist", "favorite",
    "favoriteFolder",
]

# Fields the reference marks as newest-only (G3) or older-only; layout C as mirrored here
# (Twenty 2.0, see the header of workspace.sql) has neither.
DROP_FIELDS = {
    ("company", "annualRevenue"), ("company", "addressOld"),
    ("workflowRun", "stepLogs"), ("workflowRun", "output"), ("workflowRun", "context"),
}

SYSTEM_FIELD_NAMES = ["id", "createdAt", "updatedAt", "deletedAt", "createdBy", "updatedBy",
                      "position", "searchVector"]

# Real universal identifiers read from packages/twenty-shared/src/metadata/constants/
# standard-object.constant.ts (twentyhq/twenty); the rest are derived (uid()).
KNOWN_FIELD_UIDS = {
    ("attachment", "file"): "20202020-15db-460e-8166-c7b5d87ad4be",
    ("attachment", "fullPath"): "20202020-0d19-453d-8e8d-fbcda8ca3747",
    ("attachment", "fileCategory"): "20202020-8c3f-4d9e-9a1b-2e5f7a8c9d0e",
    ("attachment", "targetTask"): "20202020-51e5-4621-9cf8-215487951c4b",
    ("attachment", "targetNote"): "20202020-4f4b-4503-a6fc-6b982f3dffb5",
    ("attachment", "targetPerson"): "20202020-0158-4aa2-965c-5cdafe21ffa2",
    ("attachment", "targetCompany"): "20202020-ceab-4a28-b546-73b06b4c08d5",
    ("attachment", "targetOpportunity"): "20202020-7374-499d-bea3-9354890755b5",
    ("attachment", "targetDashboard"): "20202020-5324-43f3-9dbf-1a33e7de0ce6",
    ("attachment", "targetWorkflow"): "20202020-f1e8-4c9d-8a7b-3f5e1d2c9a8b",
    ("blocklist", "handle"): "20202020-eef3-44ed-aa32-4641d7fd4a3e",
    ("blocklist", "workspaceMember"): "20202020-548d-4084-a947-fa20a39f7c06",
    ("calendarEvent", "title"): "20202020-080e-49d1-b21d-9702a7e2525c",
    ("calendarEvent", "isCanceled"): "20202020-335b-4e04-b470-43b84b64863c",
    ("calendarEvent", "isFullDay"): "20202020-551c-402c-bb6d-dfe9efe86bcb",
    ("calendarEvent", "startsAt"): "20202020-2c57-4c75-93c5-2ac950a6ed67",
    ("calendarEvent", "endsAt"): "20202020-2554-4ee1-a617-17907f6bab21",
    ("calendarEvent", "description"): "20202020-52c4-4266-a98f-e90af0b4d271",
    ("calendarEvent", "location"): "20202020-641a-4ffe-960d-c3c186d95b17",
    ("calendarEvent", "iCalUid"): "20202020-f24b-45f4-b6a3-d2f9fcb98714",
    ("calendarEvent", "conferenceLink"): "20202020-35da-43ef-9ca0-e936e9dc237b",
}

# packages/twenty-shared/src/metadata/constants/standard-object.constant.ts (calendarEvent).
MESSAGING_OBJECT_UIDS = {
    "calendarEvent": "20202020-8f1d-4eef-9f85-0d1965e27221",
}


def load_reference():
    path = REFERENCE if os.path.exists(REFERENCE) else FROZEN
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    objects = {o["nameSingular"]: o for o in data["objects"] if o["nameSingular"] in STANDARD}
    actor = next(c for c in data["compositeTypes"]["ACTOR"] if c["subField"] == "source")
    frozen = {"objects": [objects[n] for n in STANDARD],
              "compositeTypes": {"ACTOR": data["compositeTypes"]["ACTOR"]}}
    with open(FROZEN, "w", encoding="utf-8") as fh:
        json.dump(frozen, fh, indent=1, sort_keys=True)
        fh.write("\n")
    return objects, actor["values"]


def first_word(s):
    return s.split(" ")[0] if s else s


def field(name, ftype, label, **kw):
    f = {"name": name, "type": ftype, "label": label, "isNullable": True}
    f.update(kw)
    return f


def m2o(name, label, target, inverse, join, on_delete="SET_NULL", **kw):
    return field(name, "RELATION", label, target=target, inverse=inverse,
                 settings={"relationType": "MANY_TO_ONE", "onDelete": on_delete,
                           "joinColumnName": join}, **kw)


def o2m(name, label, target, inverse, **kw):
    return field(name, "RELATION", label, target=target, inverse=inverse,
                 settings={"relationType": "ONE_TO_MANY"}, **kw)


def options(values, colors=("red", "blue", "green", "purple", "sky", "turquoise", "yellow",
                            "gray", "pink", "orange")):
    return [{"value": v, "label": lbl, "color": colors[i % len(colors)], "position": i}
            for i, (v, lbl) in enumerate(values)]


def build_model():
    ref, actor_values = load_reference()
    objects = []
    for name in STANDARD:
        o = ref[name]
        obj = {
            "name": name, "plural": o["namePlural"], "labelSingular": o["labelSingular"],
            "labelPlural": o["labelPlural"], "isSystem": bool(o["isSystem"]), "isCustom": False,
            "uid": o["universalIdentifier"], "searchFields": o.get("searchFields"),
            "labelIdentifier": o.get("labelIdentifier"), "fields": [],
            "morphId": (o.get("morphTargets") or {}).get("morphId"),
        }
        for f in o["fields"]:
            if f["name"] in SYSTEM_FIELD_NAMES or (name, f["name"]) in DROP_FIELDS:
                continue
            if (f.get("presence") or "").startswith("newest"):
                continue
            nf = {k: f[k] for k in ("name", "type", "label", "isNullable", "isSystem",
                                    "isUnique", "defaultValue", "options", "settings")
                  if k in f}
            if f.get("isUIEditable") is False:
                nf["isUIReadOnly"] = True
            # 1.20 renamed RICH_TEXT_V2 to RICH_TEXT (upgrade:1-20:migrate-rich-text-to-text).
            if nf["type"] == "RICH_TEXT_V2":
                nf["type"] = "RICH_TEXT"
            if f.get("relationTarget"):
                nf["target"] = f["relationTarget"]["object"]
                nf["inverse"] = first_word(f["relationTarget"]["inverseField"])
            if nf["type"] == "MORPH_RELATION":
                nf["morphId"] = obj["morphId"]
            obj["fields"].append(nf)
        objects.append(obj)

    # Objects a migration must skip (re-synced from connected accounts). Only the fields a
    # reader needs to see a realistic table; the reference model does not list them.
    def std(name, plural, ls, lp, fields, system=False, label_id=None):
        return {"name": name, "plural": plural, "labelSingular": ls, "labelPlural": lp,
                "isSystem": system, "isCustom": False,
                "uid": MESSAGING_OBJECT_UIDS.get(name, uid("object", name)),
                "searchFields": None, "labelIdentifier": label_id, "fields": fields,
                "morphId": None}

    objects += [
        std("connectedAccount", "connectedAccounts", "Connected Account", "Connected Accounts", [
            field("handle", "TEXT", "Handle"),
            field("provider", "TEXT", "Provider"),
            field("accessToken", "TEXT", "Access Token"),
            field("refreshToken", "TEXT", "Refresh Token"),
            field("lastSyncHistoryId", "TEXT", "Last sync history ID"),
            m2o("accountOwner", "Account Owner", "workspaceMember", "connectedAccounts",
                "accountOwnerId", "CASCADE"),
            o2m("messageChannels", "Message Channels", "messageChannel", "connectedAccount"),
        ], system=True, label_id="handle"),
        std("messageChannel", "messageChannels", "Message Channel", "Message Channels", [
            field("handle", "TEXT", "Handle"),
            field("type", "SELECT", "Type", isNullable=False, defaultValue="'EMAIL'",
                  options=options([("EMAIL", "Email"), ("SMS", "SMS")])),
            field("isSyncEnabled", "BOOLEAN", "Is Sync Enabled", isNullable=False,
                  defaultValue=True),
            m2o("connectedAccount", "Connected Account", "connectedAccount", "messageChannels",
                "connectedAccountId", "CASCADE"),
        ], system=True, label_id="handle"),
        std("messageThread", "messageThreads", "Message Thread", "Message Threads", [
            o2m("messages", "Messages", "message", "messageThread"),
        ], system=True),
        std("message", "messages", "Message", "Messages", [
            field("headerMessageId", "TEXT", "Header message Id"),
            field("subject", "TEXT", "Subject"),
            field("text", "TEXT", "Text"),
            field("receivedAt", "DATE_TIME", "Received At"),
            m2o("messageThread", "Message Thread", "messageThread", "messages",
                "messageThreadId", "CASCADE"),
        ], system=True, label_id="subject"),
        std("calendarEvent", "calendarEvents", "Calendar event", "Calendar events", [
            field("title", "TEXT", "Title"),
            field("isCanceled", "BOOLEAN", "Is canceled", isNullable=False, defaultValue=False),
            field("isFullDay", "BOOLEAN", "Is Full Day", isNullable=False, defaultValue=False),
            field("startsAt", "DATE_TIME", "Start Date"),
            field("endsAt", "DATE_TIME", "End Date"),
            field("description", "TEXT", "Description"),
            field("location", "TEXT", "Location"),
            field("iCalUid", "TEXT", "iCal UID"),
            field("conferenceLink", "LINKS", "Meet Link"),
        ], system=True, label_id="title"),
    ]
    # The inverse sides of the messaging relations.
    by_name = {o["name"]: o for o in objects}
    wm = by_name["workspaceMember"]
    if not any(f["name"] == "connectedAccounts" for f in wm["fields"]):
        wm["fields"].append(o2m("connectedAccounts", "Connected accounts", "connectedAccount",
                                "accountOwner"))

    # workflowVersion/workflowRun have favorites in 1.x (favorite.workflowVersion/workflowRun
    # point at them); the reference lists only the favorite side.
    for holder in ("workflowVersion", "workflowRun"):
        if not any(f["name"] == "favorites" for f in by_name[holder]["fields"]):
            by_name[holder]["fields"].append(o2m("favorites", "Favorites", "favorite", holder,
                                                 isSystem=True))

    # --- custom parts ------------------------------------------------------------------------
    def custom_object(name, plural, ls, lp, fields):
        return {"name": name, "plural": plural, "labelSingular": ls, "labelPlural": lp,
                "isSystem": False, "isCustom": True, "uid": None,
                "searchFields": ["name"], "labelIdentifier": "name",
                # Every custom object gets a `name` TEXT label identifier
                # (build-default-flat-field-metadatas-for-custom-object.util.ts).
                "fields": [field("name", "TEXT", "Name", defaultValue="'Untitled'")] + fields,
                "morphId": None}

    def custom(f):
        f["isCustom"] = True
        return f

    pet = custom_object("pet", "pets", "Pet", "Pets", [custom(f) for f in [
        field("species", "SELECT", "Species", defaultValue="'DOG'", options=options(
            [("DOG", "Dog"), ("CAT", "Cat"), ("BIRD", "Bird"), ("FISH", "Fish"),
             ("OTHER", "Other")])),
        field("traits", "MULTI_SELECT", "Traits", options=options(
            [("PLAYFUL", "Playful"), ("CALM", "Calm"), ("FRIENDLY", "Friendly"),
             ("SHY", "Shy"), ("LOUD", "Loud")])),
        field("price", "CURRENCY", "Price"),
        m2o("owner", "Owner", "person", "pets", "ownerId"),
        field("birthDate", "DATE", "Birth date"),
        field("rating", "RATING", "Rating", options=options(
            [("RATING_%d" % i, str(i)) for i in range(1, 6)])),
        field("chipNumber", "TEXT", "Chip number", isUnique=True),
        field("weight", "NUMBER", "Weight", settings={"dataType": "float", "decimals": 2}),
        field("vaccinated", "BOOLEAN", "Vaccinated", defaultValue=False),
        field("contactEmails", "EMAILS", "Contact emails"),
        field("website", "LINKS", "Website"),
        o2m("vetVisits", "Vet visits", "vetVisit", "pet"),
    ]])
    vet_visit = custom_object("vetVisit", "vetVisits", "Vet visit", "Vet visits", [
        custom(f) for f in [
            field("visitedAt", "DATE_TIME", "Visited at"),
            m2o("pet", "Pet", "pet", "vetVisits", "petId", "CASCADE"),
            field("cost", "CURRENCY", "Cost"),
            field("diagnosis", "TEXT", "Diagnosis"),
        ]])
    objects += [pet, vet_visit]
    by_name = {o["name"]: o for o in objects}

    # A custom field on a standard object, and the inverse of pet.owner.
    by_name["company"]["fields"].append(custom(field(
        "tier", "SELECT", "Tier", options=options(
            [("STARTUP", "Startup"), ("SMB", "SMB"), ("ENTERPRISE", "Enterprise")]))))
    by_name["person"]["fields"].append(custom(o2m("pets", "Pets", "pet", "owner")))

    # Relations Twenty adds from the activity tables to every custom object
    # (build-default-relation-flat-field-metadatas-for-custom-object.util.ts): morph
    # `target<Name>` on the tables migrated to morph relations, plain `<name>` on favorite.
    for c in (pet, vet_visit):
        cap = c["name"][0].upper() + c["name"][1:]
        for holder in ("timelineActivity", "attachment", "noteTarget", "taskTarget", "favorite"):
            h = by_name[holder]
            morph = holder != "favorite"
            fname = "target" + cap if morph else c["name"]
            on_delete = "CASCADE"
            side = m2o(fname, cap if not morph else c["labelSingular"], c["name"], h["plural"],
                       fname + "Id", on_delete, isCustom=True, isSystem=True, isUIReadOnly=True)
            if morph:
                side["type"] = "MORPH_RELATION"
                side["morphId"] = h["morphId"]
            h["fields"].append(side)
            c["fields"].append(o2m(h["plural"], h["labelPlural"], holder, fname, isCustom=True,
                                   isSystem=True))

    # Drop relations whose other side is not part of the fixture.
    names = set(by_name)
    for o in objects:
        o["fields"] = [f for f in o["fields"] if not f.get("target") or f["target"] in names]
    # Every relation must have its inverse on the target, pointing back.
    problems = []
    for o in objects:
        for f in o["fields"]:
            if not f.get("target"):
                continue
            t = by_name[f["target"]]
            inv = next((g for g in t["fields"] if g["name"] == f["inverse"]), None)
            if inv is None or inv.get("target") != o["name"] or inv.get("inverse") != f["name"]:
                problems.append("%s.%s -> %s.%s" % (o["name"], f["name"], f["target"],
                                                   f["inverse"]))
    if problems:
        sys.exit("relations without a matching inverse:\n  " + "\n  ".join(problems))

    # System fields on every object, in Twenty's order (buildObjectSystemFlatFieldMetadatas).
    for o in objects:
        sysf = [
            field("id", "UUID", "Id", isNullable=False, isSystem=True, defaultValue="uuid",
                  isUIReadOnly=True),
            field("createdAt", "DATE_TIME", "Creation date", isNullable=False, isSystem=True,
                  defaultValue="now", settings={"displayFormat": "RELATIVE"},
                  isUIReadOnly=True),
            field("updatedAt", "DATE_TIME", "Last update", isNullable=False, isSystem=True,
                  defaultValue="now", settings={"displayFormat": "RELATIVE"},
                  isUIReadOnly=True),
            field("deletedAt", "DATE_TIME", "Deleted at", isSystem=True,
                  settings={"displayFormat": "RELATIVE"}, isUIReadOnly=True),
            field("createdBy", "ACTOR", "Created by", isNullable=False, isUIReadOnly=True,
                  defaultValue={"source": "'MANUAL'", "name": "'System'",
                                "workspaceMemberId": None}),
            field("updatedBy", "ACTOR", "Updated by", isNullable=False, isSystem=True,
                  isUIReadOnly=True,
                  defaultValue={"source": "'MANUAL'", "name": "'System'",
                                "workspaceMemberId": None}),
            field("position", "POSITION", "Position", isNullable=False, isSystem=True,
                  defaultValue=0),
            field("searchVector", "TS_VECTOR", "Search vector", isSystem=True,
                  isUIReadOnly=True),
        ]
        o["fields"] = sysf + o["fields"]
        # Column defaults and fieldMetadata.defaultValue both quote text/select defaults
        # SQL-style ("'NEW'"), as Twenty's standard field definitions do.
        for f in o["fields"]:
            dv = f.get("defaultValue")
            if f["type"] in ("SELECT", "TEXT") and isinstance(dv, str) and not dv.startswith("'"):
                f["defaultValue"] = "'" + dv + "'"
        names_here = {f["name"]: f for f in o["fields"]}
        if not o.get("labelIdentifier"):
            for cand in ("name", "title", "handle", "subject"):
                if cand in names_here and names_here[cand]["type"] == "TEXT":
                    o["labelIdentifier"] = cand
                    break
    return objects, actor_values


# --- SQL helpers -----------------------------------------------------------------------------

def q(s):
    return "'" + s.replace("'", "''") + "'"


def ident(s):
    return '"' + s.replace('"', '""') + '"'


def jq(v):
    return "NULL" if v is None else q(json.dumps(v, separators=(",", ":"))) + "::jsonb"


def b(v):
    return "true" if v else "false"


def table_of(o):
    return ("_" if o["isCustom"] else "") + o["name"]


def col(f, sub):
    return f + sub[0].upper() + sub[1:]


COMPOSITES = {
    "FULL_NAME": [("firstName", "text"), ("lastName", "text")],
    "LINKS": [("primaryLinkLabel", "text"), ("primaryLinkUrl", "text"),
              ("secondaryLinks", "jsonb")],
    "EMAILS": [("primaryEmail", "text"), ("additionalEmails", "jsonb")],
    "PHONES": [("primaryPhoneNumber", "text"), ("primaryPhoneCountryCode", "text"),
               ("primaryPhoneCallingCode", "text"), ("additionalPhones", "jsonb")],
    "ADDRESS": [("addressStreet1", "text"), ("addressStreet2", "text"),
                ("addressCity", "text"), ("addressPostcode", "text"), ("addressState", "text"),
                ("addressCountry", "text"), ("addressLat", "numeric"),
                ("addressLng", "numeric")],
    "CURRENCY": [("amountMicros", "numeric"), ("currencyCode", "text")],
    "ACTOR": [("source", "enum"), ("workspaceMemberId", "uuid"), ("name", "text"),
              ("context", "jsonb")],
    "RICH_TEXT": [("blocknote", "text"), ("markdown", "text")],
}

SCALAR = {"UUID": "uuid", "TEXT": "text", "DATE_TIME": "timestamptz", "DATE": "date",
          "BOOLEAN": "boolean", "NUMERIC": "numeric", "POSITION": "double precision",
          "RAW_JSON": "jsonb", "FILES": "jsonb", "ARRAY": "text[]"}


def enum_name(table, column):
    # compute-postgres-enum-name.util.ts: `${tableName}_${columnName}_enum`.
    return table + "_" + column + "_enum"


def search_expr(o):
    """to_tsvector('simple', ...) over the object's search fields, as Twenty builds it
    (get-ts-vector-column-expression.util.ts and is-searchable-subfield.util.ts)."""
    fields = {f["name"]: f for f in o["fields"]}
    names = o.get("searchFields") or ([o["labelIdentifier"]] if o.get("labelIdentifier") else [])
    parts = []
    for n in names:
        f = fields.get(n)
        if f is None:
            continue
        t = f["type"]
        if t == "TEXT":
            parts.append("COALESCE(public.unaccent_immutable(%s), '')" % ident(n))
        elif t == "FULL_NAME":
            for s in ("firstName", "lastName"):
                parts.append("COALESCE(public.unaccent_immutable(%s), '')" % ident(col(n, s)))
        elif t == "LINKS":
            for s in ("primaryLinkLabel", "primaryLinkUrl"):
                parts.append("COALESCE(public.unaccent_immutable(%s), '')" % ident(col(n, s)))
        elif t == "EMAILS":
            c = ident(col(n, "primaryEmail"))
            parts.append("COALESCE(public.unaccent_immutable(%s), '') || ' ' || "
                         "COALESCE(public.unaccent_immutable(SPLIT_PART(%s, '@', 2)), '')"
                         % (c, c))
        elif t == "PHONES":
            num, cc = ident(col(n, "primaryPhoneNumber")), ident(col(n, "primaryPhoneCallingCode"))
            parts += ["COALESCE(%s, '')" % num, "COALESCE(%s, '')" % cc,
                      "COALESCE(%s || %s, '')" % (cc, num),
                      "COALESCE(REPLACE(%s, '+', '') || %s, '')" % (cc, num)]
    if not parts:
        return "to_tsvector('simple', ''::text)"
    return "to_tsvector('simple', %s)" % " || ' ' || ".join(parts)


def columns_of(o, f):
    """(column name, SQL type, constraints) for one field; empty for ONE_TO_MANY sides."""
    table = table_of(o)
    t = f["type"]
    n = f["name"]
    out = []
    if t in ("RELATION", "MORPH_RELATION"):
        s = f["settings"]
        if s["relationType"] == "MANY_TO_ONE":
            out.append((s["joinColumnName"], "uuid", "" if f.get("isNullable", True)
                        else " NOT NULL"))
        return out
    if t in COMPOSITES:
        for sub, st in COMPOSITES[t]:
            c = col(n, sub)
            if st == "enum":
                out.append((c, '"{{schema}}".' + ident(enum_name(table, c)),
                            " NOT NULL DEFAULT 'MANUAL'"))
            elif t == "ACTOR" and sub == "name":
                out.append((c, "text", " NOT NULL DEFAULT 'System'"))
            elif st == "text":
                out.append((c, "text", " DEFAULT ''"))
            else:
                out.append((c, st, ""))
        return out
    if t == "TS_VECTOR":
        out.append((n, "tsvector", " GENERATED ALWAYS AS (%s) STORED" % search_expr(o)))
        return out
    nullable = f.get("isNullable", True)
    extra = "" if nullable else " NOT NULL"
    if t in ("SELECT", "RATING"):
        sqlt = '"{{schema}}".' + ident(enum_name(table, n))
        if f.get("defaultValue"):
            extra += " DEFAULT %s" % f["defaultValue"]
    elif t == "MULTI_SELECT":
        sqlt = '"{{schema}}".' + ident(enum_name(table, n)) + "[]"
    elif t == "NUMBER":
        dt = (f.get("settings") or {}).get("dataType")
        sqlt = {"int": "integer", "bigint": "bigint"}.get(dt, "double precision")
        if f.get("defaultValue") is not None:
            extra += " DEFAULT %s" % f["defaultValue"]
    else:
        sqlt = SCALAR[t]
        dv = f.get("defaultValue")
        if n == "id":
            extra += " DEFAULT public.uuid_generate_v4()"
        elif dv == "now":
            extra += " DEFAULT now()"
        elif isinstance(dv, bool):
            extra += " DEFAULT %s" % b(dv)
        elif isinstance(dv, str) and dv.startswith("'"):
            extra += " DEFAULT %s" % dv
        elif t == "POSITION":
            extra += " DEFAULT 0"
    out.append((n, sqlt, extra))
    return out


def metadata_default(f):
    """fieldMetadata.defaultValue as Twenty stores it: strings quoted SQL-style ("'NEW'")."""
    return f.get("defaultValue")


def oid(name):
    return "md5('{{workspace_id}}/object/%s')::uuid" % name


def fid(obj, name):
    return "md5('{{workspace_id}}/field/%s.%s')::uuid" % (obj, name)


def emit(objects, actor_values):
    by_name = {o["name"]: o for o in objects}
    out = []
    w = out.append
    w(HEADER)

    # enum types and tables
    w("-- Workspace schema, enum types and one table per object.\n"
      "-- Schema name: workspace_ + base-36 of the workspace id\n"
      "-- (packages/twenty-server/src/engine/workspace-datasource/utils/get-workspace-schema-name.util.ts).\n"
      'CREATE SCHEMA "{{schema}}";\n')
    w("-- Enum type names: packages/twenty-server/src/engine/workspace-manager/workspace-migration/utils/compute-postgres-enum-name.util.ts\n"
      "-- (`${tableName}_${columnName}_enum`, the column being the composite column for ACTOR source).\n")
    for o in objects:
        table = table_of(o)
        for f in o["fields"]:
            vals = None
            if f["type"] in ("SELECT", "MULTI_SELECT", "RATING"):
                vals = [x["value"] for x in f["options"]]
                name = enum_name(table, f["name"])
            elif f["type"] == "ACTOR":
                vals = actor_values
                name = enum_name(table, col(f["name"], "source"))
            if vals:
                w('CREATE TYPE "{{schema}}".%s AS ENUM (%s);\n'
                  % (ident(name), ", ".join(q(v) for v in vals)))
    w("\n-- searchVector: GENERATED ALWAYS AS (to_tsvector('simple', ...)) STORED over the search fields,\n"
      "-- packages/twenty-server/src/engine/workspace-manager/workspace-sync-metadata/utils/get-ts-vector-column-expression.util.ts\n"
      "-- and is-searchable-subfield.util.ts (all TEXT sub-fields; PHONES number + calling code).\n"
      "-- Column defaults: 'uuid' -> public.uuid_generate_v4(), 'now' -> now() (field-metadata/utils/\n"
      "-- serialize-function-default-value.util.ts); quoted strings such as \"'TODO'\" become the literal\n"
      "-- (workspace-migration-builder/utils/serialize-default-value.util.ts; the quoted form is how the\n"
      "-- standard definitions write it, e.g. compute-task-standard-flat-field-metadata.util.ts).\n"
      "-- Composite columns are <field><SubField> (field-metadata/utils/compute-column-name.util.ts).\n")
    for o in objects:
        table = table_of(o)
        cols = []
        for f in o["fields"]:
            for c, t, extra in columns_of(o, f):
                cols.append("  %s %s%s" % (ident(c), t, extra))
        cols.append('  PRIMARY KEY ("id")')
        w('\nCREATE TABLE "{{schema}}".%s (\n%s\n);\n' % (ident(table), ",\n".join(cols)))

    w("\n-- Foreign keys of MANY_TO_ONE join columns, ON DELETE from settings.onDelete.\n")
    for o in objects:
        table = table_of(o)
        for f in o["fields"]:
            s = f.get("settings") or {}
            if f["type"] in ("RELATION", "MORPH_RELATION") and s.get("relationType") == "MANY_TO_ONE":
                t = table_of(by_name[f["target"]])
                w('ALTER TABLE "{{schema}}".%s ADD CONSTRAINT %s FOREIGN KEY (%s) '
                  'REFERENCES "{{schema}}".%s ("id") ON DELETE %s;\n'
                  % (ident(table), ident("FK_%s_%s" % (table, s["joinColumnName"])),
                     ident(s["joinColumnName"]), ident(t), s["onDelete"].replace("_", " ")))
    w("\n-- Unique fields get a unique index on their (first) column; search vectors a GIN index.\n")
    indexes = []
    for o in objects:
        table = table_of(o)
        for f in o["fields"]:
            if f.get("isUnique"):
                c = columns_of(o, f)
                cname = c[1][0] if f["type"] == "LINKS" else c[0][0]
                iname = "IDX_UNIQUE_%s_%s" % (table, f["name"])
                w('CREATE UNIQUE INDEX %s ON "{{schema}}".%s (%s) WHERE "deletedAt" IS NULL AND %s <> \'\';\n'
                  % (ident(iname), ident(table), ident(cname), ident(cname)))
                indexes.append((o, f, iname))
        w('CREATE INDEX %s ON "{{schema}}".%s USING GIN ("searchVector");\n'
          % (ident("IDX_%s_searchVector" % table), ident(table)))

    # objectMetadata
    w("\n-- objectMetadata: one row per object "
      "(packages/twenty-server/src/engine/metadata-modules/object-metadata/object-metadata.entity.ts,\n"
      "-- plus universalIdentifier/applicationId of workspace-sync/types/syncable-entity.interface.ts).\n")
    rows = []
    for o in objects:
        app = "custom" if o["isCustom"] else "standard"
        label = fid(o["name"], o["labelIdentifier"]) if o.get("labelIdentifier") else "NULL"
        ouid = oid(o["name"] + "/uid") if o["isCustom"] else q(o["uid"]) + "::uuid"
        rows.append("  (%s, %s, md5('{{workspace_id}}/dataSource')::uuid, %s, %s, %s, %s, NULL, %s, "
                    "'DEPRECATED', %s, false, true, %s, true, %s, %s, false, '{{workspace_id}}', %s, "
                    "md5('{{workspace_id}}/application/%s')::uuid)"
                    % (oid(o["name"]), "NULL" if o["isCustom"] else q(o["uid"]) + "::uuid",
                       q(o["name"]), q(o["plural"]), q(o["labelSingular"]), q(o["labelPlural"]),
                       q("Icon" + o["name"][0].upper() + o["name"][1:]), b(o["isCustom"]),
                       b(o["isSystem"]), b(not o["isSystem"]), label, ouid, app))
    w('INSERT INTO core."objectMetadata" ("id", "standardId", "dataSourceId", "nameSingular", '
      '"namePlural", "labelSingular", "labelPlural", "description", "icon", "targetTableName", '
      '"isCustom", "isRemote", "isActive", "isSystem", "isAuditLogged", "isSearchable", '
      '"labelIdentifierFieldMetadataId", "isLabelSyncedWithName", "workspaceId", '
      '"universalIdentifier", "applicationId") VALUES\n%s;\n' % ",\n".join(rows))

    # fieldMetadata
    w("\n-- fieldMetadata: every field, standard and custom, both sides of every relation\n"
      "-- (packages/twenty-server/src/engine/metadata-modules/field-metadata/field-metadata.entity.ts;\n"
      "-- MORPH_RELATION rows carry morphId, CHK_FIELD_METADATA_MORPH_RELATION_REQUIRES_MORPH_ID).\n"
      "-- Relations Twenty adds to each custom object: packages/twenty-server/src/engine/metadata-modules/\n"
      "-- object-metadata/utils/build-default-relation-flat-field-metadatas-for-custom-object.util.ts.\n")
    rows = []
    for o in objects:
        for f in o["fields"]:
            is_custom = bool(f.get("isCustom"))
            std_uid = None
            if not is_custom and not o["isCustom"]:
                std_uid = KNOWN_FIELD_UIDS.get((o["name"], f["name"]), uid("field", o["name"], f["name"]))
            fuid = q(std_uid) + "::uuid" if std_uid else "md5('{{workspace_id}}/field-uid/%s.%s')::uuid" % (o["name"], f["name"])
            app = "custom" if (is_custom or o["isCustom"]) else "standard"
            settings = f.get("settings")
            if f["type"] == "TS_VECTOR":
                settings = {"asExpression": search_expr(o), "generatedType": "STORED"}
            if f["type"] in ("FILES",) and settings is None:
                settings = {"maxNumberOfValues": 1}
            opts = None
            if f.get("options"):
                opts = [{"id": uid("option", o["name"], f["name"], x["value"]), **x}
                        for x in f["options"]]
            rel_field = rel_obj = "NULL"
            if f.get("target"):
                rel_field = fid(f["target"], f["inverse"])
                rel_obj = oid(f["target"])
            morph = q(f["morphId"]) + "::uuid" if f.get("morphId") else "NULL"
            rows.append("  (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, true, %s, %s, %s, %s, false, "
                        "%s, %s, %s, '{{workspace_id}}', %s, md5('{{workspace_id}}/application/%s')::uuid)"
                        % (fid(o["name"], f["name"]), q(std_uid) + "::uuid" if std_uid else "NULL",
                           oid(o["name"]), q(f["type"]), q(f["name"]), q(f["label"]),
                           jq(metadata_default(f)), jq(opts), jq(settings), b(is_custom),
                           b(f.get("isSystem")), b(f.get("isUIReadOnly")),
                           b(f.get("isNullable", True)), b(f.get("isUnique")),
                           rel_field, rel_obj, morph, fuid, app))
    w('INSERT INTO core."fieldMetadata" ("id", "standardId", "objectMetadataId", "type", "name", '
      '"label", "defaultValue", "options", "settings", "isCustom", "isActive", "isSystem", '
      '"isUIReadOnly", "isNullable", "isUnique", "isLabelSyncedWithName", '
      '"relationTargetFieldMetadataId", "relationTargetObjectMetadataId", "morphId", '
      '"workspaceId", "universalIdentifier", "applicationId") VALUES\n%s;\n' % ",\n".join(rows))

    # indexMetadata
    w("\n-- indexMetadata / indexFieldMetadata for the unique indexes above.\n")
    for o, f, iname in indexes:
        app = "custom" if (f.get("isCustom") or o["isCustom"]) else "standard"
        c = columns_of(o, f)
        cname = c[1][0] if f["type"] == "LINKS" else c[0][0]
        w('INSERT INTO core."indexMetadata" ("id", "name", "objectMetadataId", "isCustom", '
          '"isUnique", "indexWhereClause", "indexType", "workspaceId", "universalIdentifier", '
          '"applicationId") VALUES (md5(\'{{workspace_id}}/index/%s\')::uuid, %s, %s, %s, true, %s, '
          "'BTREE', '{{workspace_id}}', md5('{{workspace_id}}/index-uid/%s')::uuid, "
          "md5('{{workspace_id}}/application/%s')::uuid);\n"
          % (iname, q(iname), oid(o["name"]), b(app == "custom"),
             q('"deletedAt" IS NULL AND "%s" <> \'\'' % cname), iname, app))
        w('INSERT INTO core."indexFieldMetadata" ("id", "indexMetadataId", "fieldMetadataId", '
          '"order") VALUES (md5(\'{{workspace_id}}/index-field/%s\')::uuid, '
          "md5('{{workspace_id}}/index/%s')::uuid, %s, 0);\n" % (iname, iname, fid(o["name"], f["name"])))
    return "".join(out)


HEADER = """\
-- Layout C workspace template (Twenty 1.18 - 2.x; mirrors Twenty 2.0: RICH_TEXT naming of 1.20,
-- FILES + core.file of 1.18, morph target<Object>Id columns of 1.17, favorites still present
-- (dropped in 2.7), fieldMetadata/objectMetadata still with isCustom (dropped in 2.12)).
--
-- GENERATED by sql/layout_c/gen/workspace_sql.py: edit that script, not this file.
--
-- Placeholders, replaced by twenty_migrate::fixture::load_workspace:
--   {{workspace_id}}  the workspace uuid           {{schema}}     workspace_<base36 of the id>
--   {{display_name}}  core.workspace.displayName   {{subdomain}}  core.workspace.subdomain
--   {{version}}       core.workspace.version
-- Every metadata id is md5('<workspace id>/<kind>/<name>')::uuid, so two workspaces never collide
-- and a test can recompute any id.

-- The workspace, its two applications (Twenty standard + the workspace custom application) and
-- its dataSource. workspace.workspaceCustomApplicationId and application.workspaceId point at each
-- other; one statement inserts all three so the foreign keys are checked once at its end.
-- Columns: packages/twenty-server/src/engine/core-modules/workspace/workspace.entity.ts and
-- packages/twenty-server/src/engine/core-modules/application/application.entity.ts; the standard
-- application's universalIdentifier 20202020-64aa-4b6f-b003-9c74b97cee20 and name 'Twenty Standard'
-- come from packages/twenty-server/src/engine/workspace-manager/twenty-standard-application/constants/twenty-standard-applications.ts.
WITH apps AS (
  INSERT INTO core."application" ("id", "universalIdentifier", "name", "description", "version",
    "sourceType", "sourcePath", "canBeUninstalled", "workspaceId")
  VALUES
    (md5('{{workspace_id}}/application/standard')::uuid, '20202020-64aa-4b6f-b003-9c74b97cee20',
     'Twenty Standard', 'Twenty is an open-source CRM that allows you to manage your sales and customer relationships',
     '1.0.0', 'local', 'cli-sync', false, '{{workspace_id}}'),
    (md5('{{workspace_id}}/application/custom')::uuid, md5('{{workspace_id}}/application/custom/uid')::uuid,
     'Custom', 'Workspace custom application', NULL, 'local', 'workspace-custom', false, '{{workspace_id}}')
  RETURNING "id"
)
INSERT INTO core."workspace" ("id", "displayName", "subdomain", "version", "databaseSchema",
  "activationStatus", "defaultRoleId", "workspaceCustomApplicationId", "createdAt", "updatedAt")
SELECT '{{workspace_id}}', '{{display_name}}', '{{subdomain}}', '{{version}}', '{{schema}}',
  'ACTIVE', md5('{{workspace_id}}/role/member')::uuid, md5('{{workspace_id}}/application/custom')::uuid,
  '2025-01-06 09:00:00+00', '2025-11-20 17:30:00+00'
WHERE (SELECT count(*) FROM apps) = 2;

-- One dataSource row per workspace (data-source.entity.ts; deprecated but kept).
INSERT INTO core."dataSource" ("id", "label", "url", "schema", "type", "isRemote", "workspaceId")
VALUES (md5('{{workspace_id}}/dataSource')::uuid, NULL, NULL, '{{schema}}', 'postgres', false, '{{workspace_id}}');

-- Flags of a workspace that went through the 1.11 - 1.18 migrations (layout C): the keys of
-- packages/twenty-server/src/engine/workspace-manager/workspace-migration/constant/default-feature-flags.ts
-- (IS_ATTACHMENT_MIGRATED, IS_NOTE_TARGET_MIGRATED, IS_TASK_TARGET_MIGRATED, IS_FILES_FIELD_MIGRATED),
-- IS_TIMELINE_ACTIVITY_MIGRATED (upgrade 1-11) and IS_CORE_VIEW_SYNCING_ENABLED (1-5, views in core).
-- IS_CORE_PICTURE_MIGRATED is left out: member avatars keep their legacy profile-picture/ paths.
INSERT INTO core."featureFlag" ("id", "key", "workspaceId", "value") VALUES
  (md5('{{workspace_id}}/flag/1')::uuid, 'IS_TIMELINE_ACTIVITY_MIGRATED', '{{workspace_id}}', true),
  (md5('{{workspace_id}}/flag/2')::uuid, 'IS_ATTACHMENT_MIGRATED', '{{workspace_id}}', true),
  (md5('{{workspace_id}}/flag/3')::uuid, 'IS_NOTE_TARGET_MIGRATED', '{{workspace_id}}', true),
  (md5('{{workspace_id}}/flag/4')::uuid, 'IS_TASK_TARGET_MIGRATED', '{{workspace_id}}', true),
  (md5('{{workspace_id}}/flag/5')::uuid, 'IS_FILES_FIELD_MIGRATED', '{{workspace_id}}', true),
  (md5('{{workspace_id}}/flag/6')::uuid, 'IS_CORE_VIEW_SYNCING_ENABLED', '{{workspace_id}}', true);

"""


def emit_rust(objects):
    rows = []
    for o in objects:
        for f in o["fields"]:
            if f.get("isCustom"):
                rows.append('    ("%s", "%s", "%s"),' % (o["name"], f["name"], f["type"]))
    objs = ['    ("%s", "%s"),' % (o["name"], table_of(o)) for o in objects if o["isCustom"]]
    return RUST % ("\n".join(objs), "\n".join(rows))


RUST = """\
// @generated by sql/layout_c/gen/workspace_sql.py from the same description as
// sql/layout_c/workspace.sql: do not edit by hand.

/// Custom objects the layout C fixture declares: (`nameSingular`, table).
pub(crate) const CUSTOM_OBJECTS: &[(&str, &str)] = &[
%s
];

/// Custom fields the layout C fixture declares: (object `nameSingular`, field name,
/// `fieldMetadata.type`). Includes the fields of the custom objects (except their system
/// fields), the custom field on a standard object, and the relations Twenty adds between the
/// activity tables and every custom object.
pub(crate) const CUSTOM_FIELDS: &[(&str, &str, &str)] = &[
%s
];
"""


def main():
    objects, actor_values = build_model()
    sql = emit(objects, actor_values)
    with open(os.path.join(ROOT, "sql", "layout_c", "workspace.sql"), "w", encoding="utf-8") as fh:
        fh.write(sql)
    rust_path = os.path.join(ROOT, "src", "fixture", "declared.rs")
    with open(rust_path, "w", encoding="utf-8") as fh:
        fh.write(emit_rust(objects))
    # Keep the committed file byte-identical to what `cargo fmt` makes of it.
    try:
        subprocess.run(["rustfmt", "--edition", "2021", rust_path], check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        print("rustfmt failed (%s): run cargo fmt" % err, file=sys.stderr)
    n_fields = sum(len(o["fields"]) for o in objects)
    print("%d objects, %d fields" % (len(objects), n_fields))


if __name__ == "__main__":
    main()
