-- Layout A from a layout B workspace (sql/layout_b/downgrade.sql run first, on every activity
-- table): the inverse of the upgrades between Twenty 0.43 and 0.53. Instance-level: the metadata
-- tables move back to the `metadata` schema, so load one workspace per database.
-- Placeholders: {{workspace_id}}, {{schema}}, {{version}}.

-- 1.10: attachment `type` (text) became `fileCategory` (SELECT) and `author` became `createdBy`
-- (…/1-10/1-10-migrate-attachment-type-to-file-category.command.ts, mapping Archive→ARCHIVE,
-- Audio→AUDIO, Image→IMAGE, Presentation→PRESENTATION, Spreadsheet→SPREADSHEET,
-- TextDocument→TEXT_DOCUMENT, Video→VIDEO, else OTHER; …/1-10-migrate-attachment-author-to-created-by.command.ts
-- fills createdBy {MANUAL, authorId, "First Last"} where createdBy has no member and authorId is set).
-- Reversed: `type` holds the old labels, `authorId` the member, and the createdBy member is left
-- empty on every other row so that only the author says who uploaded it there.
ALTER TABLE "{{schema}}"."attachment" ADD COLUMN "type" text, ADD COLUMN "authorId" uuid;
UPDATE "{{schema}}"."attachment" SET
  "type" = CASE "fileCategory"::text
    WHEN 'ARCHIVE' THEN 'Archive' WHEN 'AUDIO' THEN 'Audio' WHEN 'IMAGE' THEN 'Image'
    WHEN 'PRESENTATION' THEN 'Presentation' WHEN 'SPREADSHEET' THEN 'Spreadsheet'
    WHEN 'TEXT_DOCUMENT' THEN 'TextDocument' WHEN 'VIDEO' THEN 'Video' ELSE 'Other' END,
  "authorId" = "createdByWorkspaceMemberId";
UPDATE "{{schema}}"."attachment" a SET
  "createdByWorkspaceMemberId" = NULL, "createdBySource" = 'MANUAL', "createdByName" = 'System'
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM "{{schema}}"."attachment") o
WHERE o.id = a.id AND o.n % 2 = 0;
ALTER TABLE "{{schema}}"."attachment" DROP COLUMN "fileCategory";
UPDATE core."fieldMetadata" SET name = 'type', label = 'Type', type = 'TEXT', options = NULL,
  "defaultValue" = '"''''"'::jsonb, "standardId" = NULL
WHERE "workspaceId" = '{{workspace_id}}' AND name = 'fileCategory'
  AND "objectMetadataId" = md5('{{workspace_id}}/object/attachment')::uuid;
INSERT INTO core."fieldMetadata" ("id", "objectMetadataId", "type", "name", "label", "settings",
  "isCustom", "isActive", "isSystem", "isNullable", "relationTargetFieldMetadataId",
  "relationTargetObjectMetadataId", "workspaceId")
VALUES
  (md5('{{workspace_id}}/field/workspaceMember.authoredAttachments')::uuid,
   md5('{{workspace_id}}/object/workspaceMember')::uuid, 'RELATION', 'authoredAttachments',
   'Authored attachments', '{"relationType":"ONE_TO_MANY"}', false, true, false, true,
   NULL, md5('{{workspace_id}}/object/attachment')::uuid, '{{workspace_id}}'),
  (md5('{{workspace_id}}/field/attachment.author')::uuid,
   md5('{{workspace_id}}/object/attachment')::uuid, 'RELATION', 'author', 'Author',
   '{"relationType":"MANY_TO_ONE","onDelete":"SET_NULL","joinColumnName":"authorId"}', false, true,
   false, true, md5('{{workspace_id}}/field/workspaceMember.authoredAttachments')::uuid,
   md5('{{workspace_id}}/object/workspaceMember')::uuid, '{{workspace_id}}');
UPDATE core."fieldMetadata" SET "relationTargetFieldMetadataId" = md5('{{workspace_id}}/field/attachment.author')::uuid
WHERE id = md5('{{workspace_id}}/field/workspaceMember.authoredAttachments')::uuid;

-- Before 1.20 a leftover single-column rich text `body` (RICH_TEXT, v1) sat beside bodyV2
-- (source-schema.md §8; …/1-20/1-20-migrate-rich-text-to-text.command.ts turns it into TEXT).
ALTER TABLE "{{schema}}"."note" ADD COLUMN "body" text;
UPDATE "{{schema}}"."note" SET "body" = "bodyV2Blocknote" WHERE "bodyV2Blocknote" <> '';
INSERT INTO core."fieldMetadata" ("id", "objectMetadataId", "type", "name", "label", "isCustom",
  "isActive", "isSystem", "isNullable", "workspaceId")
VALUES (md5('{{workspace_id}}/field/note.body')::uuid, md5('{{workspace_id}}/object/note')::uuid,
  'RICH_TEXT', 'body', 'Body (deprecated)', false, true, false, true, '{{workspace_id}}');

-- 1.11: timelineActivity's links became morph relations (upgrade:1-11:migrate-timeline-activity-
-- to-morph-relations, flag IS_TIMELINE_ACTIVITY_MIGRATED); before it they were plain relations
-- `<name>` on `<name>Id` columns (source-schema.md §5).
DO $$
DECLARE
  f record;
  old_name text;
BEGIN
  FOR f IN
    SELECT fm.id, fm.name
    FROM core."fieldMetadata" fm
    WHERE fm."workspaceId" = '{{workspace_id}}' AND fm.type = 'MORPH_RELATION'
      AND fm."objectMetadataId" = md5('{{workspace_id}}/object/timelineActivity')::uuid
  LOOP
    old_name := lower(substr(f.name, 7, 1)) || substr(f.name, 8);
    EXECUTE format('ALTER TABLE %I.%I RENAME COLUMN %I TO %I',
      '{{schema}}', 'timelineActivity', f.name || 'Id', old_name || 'Id');
    UPDATE core."fieldMetadata"
    SET name = old_name, type = 'RELATION', "morphId" = NULL,
        settings = settings || jsonb_build_object('joinColumnName', old_name || 'Id')
    WHERE id = f.id;
  END LOOP;
END
$$;

-- 0.44 - 0.52: relations moved from relationMetadata onto fieldMetadata
-- (…/0-44 … 0-52 migrate-relations-to-field-metadata), and 0.53 deleted the UUID foreign-key
-- field rows, those of type UUID labelled "… (foreign key)"
-- (…/0-53/0-53-remove-relation-foreign-key-field-metadata.command.ts). Reversed: one
-- relationMetadata row per relation (from = the ONE_TO_MANY side), relation settings and targets
-- emptied, and a foreign-key field row per join column.
-- Entity: packages/twenty-server/src/engine/metadata-modules/relation-metadata/relation-metadata.entity.ts.
CREATE TYPE core."relationMetadata_ondeleteaction_enum" AS ENUM ('CASCADE', 'RESTRICT', 'SET_NULL', 'NO_ACTION');
CREATE TABLE core."relationMetadata" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "relationType" varchar NOT NULL,
  "fromObjectMetadataId" uuid NOT NULL REFERENCES core."objectMetadata" ("id") ON DELETE CASCADE,
  "toObjectMetadataId" uuid NOT NULL REFERENCES core."objectMetadata" ("id") ON DELETE CASCADE,
  "fromFieldMetadataId" uuid NOT NULL REFERENCES core."fieldMetadata" ("id") ON DELETE CASCADE,
  "toFieldMetadataId" uuid NOT NULL REFERENCES core."fieldMetadata" ("id") ON DELETE CASCADE,
  "onDeleteAction" core."relationMetadata_ondeleteaction_enum" NOT NULL DEFAULT 'SET_NULL',
  "workspaceId" uuid NOT NULL,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now()
);
INSERT INTO core."relationMetadata" ("id", "relationType", "fromObjectMetadataId",
  "toObjectMetadataId", "fromFieldMetadataId", "toFieldMetadataId", "onDeleteAction", "workspaceId")
SELECT md5('{{workspace_id}}/relation/' || m.id::text)::uuid, 'ONE_TO_MANY',
  o."objectMetadataId", m."objectMetadataId", o.id, m.id,
  coalesce(m.settings->>'onDelete', 'SET_NULL')::core."relationMetadata_ondeleteaction_enum",
  '{{workspace_id}}'
FROM core."fieldMetadata" m
JOIN core."fieldMetadata" o ON o.id = m."relationTargetFieldMetadataId"
WHERE m."workspaceId" = '{{workspace_id}}' AND m.type = 'RELATION'
  AND m.settings->>'relationType' = 'MANY_TO_ONE';
INSERT INTO core."fieldMetadata" ("id", "objectMetadataId", "type", "name", "label", "isCustom",
  "isActive", "isSystem", "isNullable", "workspaceId")
SELECT md5('{{workspace_id}}/fk/' || m.id::text)::uuid, m."objectMetadataId", 'UUID',
  m.settings->>'joinColumnName', m.label || ' id (foreign key)', m."isCustom", true, true, true,
  '{{workspace_id}}'
FROM core."fieldMetadata" m
WHERE m."workspaceId" = '{{workspace_id}}' AND m.type = 'RELATION'
  AND m.settings->>'relationType' = 'MANY_TO_ONE';
UPDATE core."fieldMetadata" SET settings = NULL, "relationTargetFieldMetadataId" = NULL,
  "relationTargetObjectMetadataId" = NULL
WHERE "workspaceId" = '{{workspace_id}}' AND type = 'RELATION';

-- Before 1.11 there were no applications on metadata rows, and before 1.17 no morphId
-- (SyncableEntity, source-schema.md §2); before 1.5 views lived in the workspace schema
-- (upgrade:1-5:migrate-views-to-core).
ALTER TABLE core."fieldMetadata" DROP COLUMN "morphId", DROP COLUMN "universalIdentifier",
  DROP COLUMN "applicationId";
ALTER TABLE core."objectMetadata" DROP COLUMN "universalIdentifier", DROP COLUMN "applicationId";
-- The workspace-era views as upgrade:1-5:migrate-views-to-core (MigrateViewsToCoreCommand) found
-- them, ids kept: text type/direction in lower case, camelCase operands, a text filter value
-- (the inner string of a JSON-string jsonb, else the JSON text) with its displayValue, the
-- grouping field on each viewGroup, and INDEX views named "All <labelPlural>" where 1.5 named them
-- by the template. Columns that came later (visibility,
-- calendar, mainGroupBy, syncable, overrides) are left out; the view objects' metadata rows are
-- not created (the tool reads no view records).
CREATE TABLE "{{schema}}"."view" AS
SELECT v.id, CASE WHEN v.name = 'All {objectLabelPlural}' THEN 'All ' || o."labelPlural"
                  ELSE v.name END AS name,
  v."objectMetadataId", lower(v.type::text) AS type, v.key::text AS key, v.icon, v.position,
  v."isCompact", v."openRecordIn"::text AS "openRecordIn",
  v."kanbanAggregateOperation"::text AS "kanbanAggregateOperation",
  v."kanbanAggregateOperationFieldMetadataId", v."createdAt", v."updatedAt", v."deletedAt"
FROM core."view" v JOIN core."objectMetadata" o ON o.id = v."objectMetadataId"
WHERE v."workspaceId" = '{{workspace_id}}';
CREATE TABLE "{{schema}}"."viewField" AS
SELECT f.id, f."fieldMetadataId", f."isVisible", f.size, f.position,
  f."aggregateOperation"::text AS "aggregateOperation", f."viewId", f."createdAt", f."updatedAt", f."deletedAt"
FROM core."viewField" f WHERE f."workspaceId" = '{{workspace_id}}';
CREATE TABLE "{{schema}}"."viewFilterGroup" AS
SELECT g.id, g."viewId", g."parentViewFilterGroupId", g."logicalOperator"::text AS "logicalOperator",
  g."positionInViewFilterGroup", g."createdAt", g."updatedAt", g."deletedAt"
FROM core."viewFilterGroup" g WHERE g."workspaceId" = '{{workspace_id}}';
CREATE TABLE "{{schema}}"."viewFilter" AS
SELECT f.id, f."fieldMetadataId",
  (SELECT lower(left(s, 1)) || substr(s, 2)
   FROM (SELECT replace(initcap(replace(lower(f.operand::text), '_', ' ')), ' ', '') AS s) x) AS operand,
  CASE WHEN jsonb_typeof(f.value) = 'string' THEN f.value #>> '{}' ELSE f.value::text END AS value,
  '' AS "displayValue", f."viewId", f."viewFilterGroupId", f."positionInViewFilterGroup",
  f."subFieldName", f."createdAt", f."updatedAt", f."deletedAt"
FROM core."viewFilter" f WHERE f."workspaceId" = '{{workspace_id}}';
CREATE TABLE "{{schema}}"."viewSort" AS
SELECT s.id, s."fieldMetadataId", lower(s.direction::text) AS direction, s."viewId",
  s."createdAt", s."updatedAt", s."deletedAt"
FROM core."viewSort" s WHERE s."workspaceId" = '{{workspace_id}}';
CREATE TABLE "{{schema}}"."viewGroup" AS
SELECT g.id, v."mainGroupByFieldMetadataId" AS "fieldMetadataId", g."isVisible", g."fieldValue",
  g.position, g."viewId", g."createdAt", g."updatedAt", g."deletedAt"
FROM core."viewGroup" g JOIN core."view" v ON v.id = g."viewId"
WHERE g."workspaceId" = '{{workspace_id}}';
ALTER TABLE "{{schema}}"."view" ADD PRIMARY KEY ("id");
ALTER TABLE "{{schema}}"."viewField" ADD PRIMARY KEY ("id");
ALTER TABLE "{{schema}}"."viewFilterGroup" ADD PRIMARY KEY ("id");
ALTER TABLE "{{schema}}"."viewFilter" ADD PRIMARY KEY ("id");
ALTER TABLE "{{schema}}"."viewSort" ADD PRIMARY KEY ("id");
ALTER TABLE "{{schema}}"."viewGroup" ADD PRIMARY KEY ("id");
DROP TABLE core."viewFilter", core."viewFilterGroup", core."viewSort", core."viewGroup",
  core."viewField", core."view";
-- Webhooks and API keys were workspace tables until 0.54 - 1.1 (transfer-webhook-to-core,
-- 1-1-migrate-api-keys-webhooks-to-core); roles came with 0.44 (0-44-initialize-permissions)
-- and page layouts with 1.4 - 1.5 (CreatePageLayoutEntity1756286262401), row-level permission
-- predicates later still (1765499361805-addRLS): none at 0.43.
CREATE TABLE "{{schema}}"."webhook" AS
SELECT id, "targetUrl", operations, description, secret, "createdAt", "updatedAt", "deletedAt"
FROM core."webhook" WHERE "workspaceId" = '{{workspace_id}}';
CREATE TABLE "{{schema}}"."apiKey" AS
SELECT id, name, "expiresAt", "revokedAt", "createdAt", "updatedAt", NULL::timestamptz AS "deletedAt"
FROM core."apiKey" WHERE "workspaceId" = '{{workspace_id}}';
ALTER TABLE "{{schema}}"."webhook" ADD PRIMARY KEY ("id");
ALTER TABLE "{{schema}}"."apiKey" ADD PRIMARY KEY ("id");
DROP TABLE core."rowLevelPermissionPredicate", core."rowLevelPermissionPredicateGroup",
  core."roleTarget", core."permissionFlag", core."fieldPermission",
  core."objectPermission", core."role", core."apiKey", core."webhook",
  core."pageLayoutWidget", core."pageLayoutTab", core."pageLayout";
-- AI agents (core."agent") came after 0.43, with the AI module of 1.x.
DROP TABLE core."agent";
DELETE FROM core."featureFlag" WHERE "workspaceId" = '{{workspace_id}}'
  AND key IN ('IS_TIMELINE_ACTIVITY_MIGRATED', 'IS_CORE_VIEW_SYNCING_ENABLED');

-- Before 0.53 the metadata tables lived in their own schema with their own migration ledger
-- (…/0-53/0-53-copy-typeorm-migrations.command.ts copies metadata._typeorm_migrations to core).
CREATE SCHEMA "metadata";
ALTER TABLE core."dataSource" SET SCHEMA "metadata";
ALTER TABLE core."objectMetadata" SET SCHEMA "metadata";
ALTER TABLE core."fieldMetadata" SET SCHEMA "metadata";
ALTER TABLE core."relationMetadata" SET SCHEMA "metadata";
ALTER TABLE core."indexMetadata" SET SCHEMA "metadata";
ALTER TABLE core."indexFieldMetadata" SET SCHEMA "metadata";
CREATE TABLE "metadata"."_typeorm_migrations" (
  "id" SERIAL PRIMARY KEY, "timestamp" bigint NOT NULL, "name" varchar NOT NULL);
INSERT INTO "metadata"."_typeorm_migrations" ("timestamp", "name")
  VALUES (1700140427984, 'SetupMetadataTables1700140427984');

UPDATE core."workspace" SET "version" = '{{version}}' WHERE "id" = '{{workspace_id}}';
