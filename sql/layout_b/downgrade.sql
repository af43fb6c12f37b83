-- Layout B from a loaded (and generated) layout C workspace: the inverse of the upgrade commands
-- that separate Twenty 1.16 from 2.0, applied to one workspace. Run by
-- twenty_migrate::fixture::layouts::downgrade after fixture::generate, so the records the
-- generator counted stay exactly as they are; only names, types and metadata move back.
--
-- Placeholders: {{workspace_id}}, {{schema}}, {{version}} (core.workspace.version to record) and
-- {{tables}} (a SQL text[] of the activity tables to take back before 1.17; all three for
-- layout B, fewer for a half-upgraded workspace).
--
-- 1.17: noteTarget/taskTarget/attachment relations became MORPH_RELATION fields named
-- target<Name> with columns target<Name>Id, and IS_*_MIGRATED was set per table
-- (packages/twenty-server/src/database/commands/upgrade-version-command/1-17/
-- 1-17-migrate-note-target-to-morph-relations.command.ts, …task-target…, …attachment…:
-- newFieldName = `target${capitalize(name)}`, join column renamed, type MORPH_RELATION,
-- morphId set). Reversed here for the tables in {{tables}}.
DO $$
DECLARE
  f record;
  old_name text;
BEGIN
  FOR f IN
    SELECT fm.id, fm.name, o."nameSingular" AS object
    FROM core."fieldMetadata" fm
    JOIN core."objectMetadata" o ON o.id = fm."objectMetadataId"
    WHERE fm."workspaceId" = '{{workspace_id}}'
      AND fm.type = 'MORPH_RELATION'
      AND o."nameSingular" = ANY ({{tables}})
      AND fm.settings->>'relationType' = 'MANY_TO_ONE'
  LOOP
    old_name := lower(substr(f.name, 7, 1)) || substr(f.name, 8);
    EXECUTE format('ALTER TABLE %I.%I RENAME COLUMN %I TO %I',
      '{{schema}}', f.object, f.name || 'Id', old_name || 'Id');
    UPDATE core."fieldMetadata"
    SET name = old_name,
        type = 'RELATION',
        "morphId" = NULL,
        settings = settings || jsonb_build_object('joinColumnName', old_name || 'Id')
    WHERE id = f.id;
  END LOOP;
END
$$;

DELETE FROM core."featureFlag"
WHERE "workspaceId" = '{{workspace_id}}'
  AND key = ANY (
    SELECT CASE t WHEN 'noteTarget' THEN 'IS_NOTE_TARGET_MIGRATED'
                  WHEN 'taskTarget' THEN 'IS_TASK_TARGET_MIGRATED'
                  WHEN 'attachment' THEN 'IS_ATTACHMENT_MIGRATED' END
    FROM unnest({{tables}}) AS t);

-- 1.18: attachment.file (FILES) + core.file replaced the legacy fullPath
-- (…/1-18/1-18-migrate-activity-rich-text-attachment-file-ids.command.ts copies
-- workspace-<ws>/<fullPath> to <ws>/<app uid>/files-field/<field uid>/<fileId>.<ext>).
-- Before it, every attachment row had fullPath = attachment/<name>; the storage files are moved
-- back by the Rust side before this script runs.
UPDATE "{{schema}}"."attachment"
SET "fullPath" = 'attachment/' || ("file"->0->>'fileId')
  || coalesce('.' || nullif("file"->0->>'extension', ''), '')
WHERE jsonb_typeof("file") = 'array' AND jsonb_array_length("file") > 0;
-- FILES did not exist before 1.18: every FILES field goes (attachment.file, person.avatarFile, …).
DO $$
DECLARE
  f record;
BEGIN
  FOR f IN
    SELECT fm.id, fm.name, o."nameSingular" AS object, o."isCustom" AS custom
    FROM core."fieldMetadata" fm
    JOIN core."objectMetadata" o ON o.id = fm."objectMetadataId"
    WHERE fm."workspaceId" = '{{workspace_id}}' AND fm.type = 'FILES'
  LOOP
    EXECUTE format('ALTER TABLE %I.%I DROP COLUMN IF EXISTS %I', '{{schema}}',
      CASE WHEN f.custom THEN '_' || f.object ELSE f.object END, f.name);
    DELETE FROM core."fieldMetadata" WHERE id = f.id;
  END LOOP;
END
$$;
DELETE FROM core."file" WHERE "workspaceId" = '{{workspace_id}}';
DELETE FROM core."featureFlag"
WHERE "workspaceId" = '{{workspace_id}}' AND key = 'IS_FILES_FIELD_MIGRATED';

-- 1.20: RICH_TEXT_V2 was renamed RICH_TEXT (…/1-20/1-20-migrate-rich-text-to-text.command.ts);
-- before it the blocknote/markdown composite is RICH_TEXT_V2. Columns are unchanged.
UPDATE core."fieldMetadata" SET type = 'RICH_TEXT_V2'
WHERE "workspaceId" = '{{workspace_id}}' AND type = 'RICH_TEXT';

-- Views moved to core in 1.5 (upgrade:1-5:migrate-views-to-core); a minimal core.view makes
-- the ≥1.5 structure check true. The tool reads no view rows.
CREATE TABLE IF NOT EXISTS core."view" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "name" varchar NOT NULL,
  "objectMetadataId" uuid NOT NULL,
  "workspaceId" uuid NOT NULL
);

UPDATE core."workspace" SET "version" = '{{version}}' WHERE "id" = '{{workspace_id}}';
