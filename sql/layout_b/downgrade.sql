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

-- The workspace configuration (core.sql's 2.21 tables) back to 1.16, judged by migration
-- timestamp against 1768807499350-addNavigationMenuItemEntity, the first one of 1.17
-- (/work/notes/issue16-facts.md §12). Instance-level, like every core table: IF EXISTS keeps a
-- second workspace's run harmless. Kept: views in core with view."mainGroupByFieldMetadataId"
-- (1764680275312) and no viewGroup."fieldMetadataId" (1765808791153), visibility (1762351626807),
-- roleTarget (1764671363647), page layouts (1756286262401), API keys and webhooks in core (1.1).
-- Navigation menu items came in 1.17 (favorites, still in the workspace schema, were it).
DROP TABLE IF EXISTS core."navigationMenuItem";
-- overrides/isActive (2.12): before them an edit of a standard entity changed its columns.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM information_schema.columns
             WHERE table_schema = 'core' AND table_name = 'view' AND column_name = 'overrides') THEN
    UPDATE core."view" SET name = coalesce(overrides->>'name', name), icon = coalesce(overrides->>'icon', icon),
      position = coalesce((overrides->>'position')::double precision, position)
    WHERE jsonb_typeof(overrides) = 'object';
    UPDATE core."viewField" SET "isVisible" = coalesce((overrides->>'isVisible')::boolean, "isVisible"),
      size = coalesce((overrides->>'size')::integer, size),
      position = coalesce((overrides->>'position')::double precision, position)
    WHERE jsonb_typeof(overrides) = 'object';
    UPDATE core."pageLayoutTab" SET title = coalesce(overrides->>'title', title)
    WHERE jsonb_typeof(overrides) = 'object';
    UPDATE core."pageLayoutWidget" SET title = coalesce(overrides->>'title', title)
    WHERE jsonb_typeof(overrides) = 'object';
  END IF;
END
$$;
-- isSystemSideEffect/kanbanColumnWidth (2.15), viewFieldGroup (2.x),
-- viewSort.subFieldName (2.3/2.5), viewFilter.relationTargetFieldMetadataId (2.6).
ALTER TABLE core."view" DROP COLUMN IF EXISTS "overrides", DROP COLUMN IF EXISTS "isActive",
  DROP COLUMN IF EXISTS "isSystemSideEffect", DROP COLUMN IF EXISTS "kanbanColumnWidth";
ALTER TABLE core."viewField" DROP COLUMN IF EXISTS "overrides", DROP COLUMN IF EXISTS "isActive",
  DROP COLUMN IF EXISTS "isSystemSideEffect", DROP COLUMN IF EXISTS "viewFieldGroupId";
DROP TABLE IF EXISTS core."viewFieldGroup";
ALTER TABLE core."viewSort" DROP COLUMN IF EXISTS "subFieldName";
ALTER TABLE core."viewFilter" DROP COLUMN IF EXISTS "relationTargetFieldMetadataId";
ALTER TABLE core."pageLayout" DROP COLUMN IF EXISTS "isSystemSideEffect";
ALTER TABLE core."pageLayoutTab" DROP COLUMN IF EXISTS "overrides", DROP COLUMN IF EXISTS "isActive",
  DROP COLUMN IF EXISTS "isSystemSideEffect";
ALTER TABLE core."pageLayoutWidget" DROP COLUMN IF EXISTS "overrides", DROP COLUMN IF EXISTS "isActive",
  DROP COLUMN IF EXISTS "isSystemSideEffect", DROP COLUMN IF EXISTS "position";
-- Syncable columns came to webhooks (1769517102605), permission flags (1773232418467), object
-- permissions (1773317160558) and field permissions (1773400000000) after 1.16.
ALTER TABLE core."webhook" DROP COLUMN IF EXISTS "universalIdentifier", DROP COLUMN IF EXISTS "applicationId";
ALTER TABLE core."objectPermission" DROP COLUMN IF EXISTS "universalIdentifier", DROP COLUMN IF EXISTS "applicationId";
ALTER TABLE core."fieldPermission" DROP COLUMN IF EXISTS "universalIdentifier", DROP COLUMN IF EXISTS "applicationId";
-- Before 2.6 core."permissionFlag" held the role links, one row per (roleId, flag); the
-- catalogue and "rolePermissionFlag" came with 2.6.0_RenamePermissionFlagToRolePermissionFlag…
-- and 2.7.0_FinalizeRolePermissionFlagCutover….
DO $$
BEGIN
  IF to_regclass('core."rolePermissionFlag"') IS NOT NULL THEN
    ALTER TABLE core."rolePermissionFlag" ADD COLUMN "flag" varchar;
    UPDATE core."rolePermissionFlag" r SET "flag" = p."key"
    FROM core."permissionFlag" p WHERE p.id = r."permissionFlagId";
    ALTER TABLE core."rolePermissionFlag" ALTER COLUMN "flag" SET NOT NULL,
      DROP COLUMN "permissionFlagId", DROP COLUMN "universalIdentifier", DROP COLUMN "applicationId";
    DROP TABLE core."permissionFlag";
    ALTER TABLE core."rolePermissionFlag" RENAME TO "permissionFlag";
    ALTER TABLE core."permissionFlag" ADD CONSTRAINT "IDX_PERMISSION_FLAG_FLAG_ROLE_ID_UNIQUE" UNIQUE ("flag", "roleId");
  END IF;
END
$$;

UPDATE core."workspace" SET "version" = '{{version}}' WHERE "id" = '{{workspace_id}}';
