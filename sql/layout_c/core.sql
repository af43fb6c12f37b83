-- Layout C instance-level DDL (Twenty 1.18 - 2.x; the column sets mirror Twenty 2.0, the last
-- shape before 2.12 dropped "isCustom" from objectMetadata/fieldMetadata). Run once per database,
-- on a fresh database; then sql/layout_c/workspace.sql once per workspace.
--
-- Only the tables a direct-database reader touches are here, with the columns Twenty's TypeORM
-- entities declare. Each block names the twentyhq/twenty file it follows; column types come from
-- the entity decorators (plain @Column() on a string is varchar, as TypeORM maps it).

-- Extensions and the immutable unaccent wrapper the searchVector expressions call:
-- packages/twenty-server/src/database/scripts/setup-db.ts.
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE EXTENSION IF NOT EXISTS "unaccent";
CREATE SCHEMA IF NOT EXISTS "core";

CREATE OR REPLACE FUNCTION public.unaccent_immutable(input text)
  RETURNS text
  LANGUAGE sql
  IMMUTABLE
AS $$
SELECT public.unaccent('public.unaccent'::regdictionary, input)
$$;

-- TypeORM's migration ledger; a real 2.0 instance has a few hundred rows. The names are real
-- migration classes of packages/twenty-server/src/database/typeorm/core/migrations/common/.
CREATE TABLE core."_typeorm_migrations" (
  "id" SERIAL PRIMARY KEY,
  "timestamp" bigint NOT NULL,
  "name" varchar NOT NULL
);
INSERT INTO core."_typeorm_migrations" ("timestamp", "name") VALUES
  (1700140427984, 'SetupMetadataTables1700140427984'),
  (1700324860820, 'SetupCoreTables1700324860820'),
  (1722256203539, 'AddActivationStatus1722256203539'),
  (1730137590546, 'AddSubdomainToWorkspace1730137590546'),
  (1737561084251, 'AddRelationTargetFieldAndObjectToFieldMetadata1737561084251');

-- packages/twenty-server/src/engine/core-modules/workspace/workspace.entity.ts
-- (enum name workspace_activationStatus_enum from its @Column enumName; values from the
-- generated WorkspaceActivationStatus of twenty-front).
CREATE TYPE core."workspace_activationStatus_enum" AS ENUM
  ('ONGOING_CREATION', 'PENDING_CREATION', 'ACTIVE', 'INACTIVE', 'SUSPENDED');

CREATE TABLE core."workspace" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "displayName" varchar,
  "logo" varchar,
  "inviteHash" varchar,
  "deletedAt" timestamptz,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "allowImpersonation" boolean NOT NULL DEFAULT true,
  "isPublicInviteLinkEnabled" boolean NOT NULL DEFAULT true,
  "trashRetentionDays" integer NOT NULL DEFAULT 14,
  "activationStatus" core."workspace_activationStatus_enum" NOT NULL DEFAULT 'INACTIVE',
  "metadataVersion" integer NOT NULL DEFAULT 1,
  "databaseUrl" varchar NOT NULL DEFAULT '',
  "databaseSchema" varchar NOT NULL DEFAULT '',
  "subdomain" varchar NOT NULL UNIQUE,
  "customDomain" varchar UNIQUE,
  "isGoogleAuthEnabled" boolean NOT NULL DEFAULT true,
  "isTwoFactorAuthenticationEnforced" boolean NOT NULL DEFAULT false,
  "isPasswordAuthEnabled" boolean NOT NULL DEFAULT true,
  "isMicrosoftAuthEnabled" boolean NOT NULL DEFAULT true,
  "isCustomDomainEnabled" boolean NOT NULL DEFAULT false,
  "editableProfileFields" varchar[] DEFAULT '{email,profilePicture,firstName,lastName}',
  "defaultRoleId" uuid,
  "version" varchar,
  "workspaceCustomApplicationId" uuid NOT NULL,
  CONSTRAINT "onboarded_workspace_requires_default_role"
    CHECK ("activationStatus" IN ('PENDING_CREATION', 'ONGOING_CREATION') OR "defaultRoleId" IS NOT NULL)
);
CREATE INDEX "IDX_WORKSPACE_ACTIVATION_STATUS" ON core."workspace" ("activationStatus");

-- packages/twenty-server/src/engine/core-modules/application/application.entity.ts (the 2.0
-- column set: later columns such as logo/deploySerial/primaryPublicDomainId are left out).
CREATE TABLE core."application" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "universalIdentifier" uuid NOT NULL,
  "name" text NOT NULL,
  "description" text,
  "version" text,
  "sourceType" text NOT NULL DEFAULT 'local',
  "sourcePath" text NOT NULL,
  "packageJsonChecksum" text,
  "packageJsonFileId" uuid,
  "yarnLockChecksum" text,
  "yarnLockFileId" uuid,
  "availablePackages" jsonb NOT NULL DEFAULT '{}',
  "defaultRoleId" uuid,
  "canBeUninstalled" boolean NOT NULL DEFAULT true,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz
);
CREATE INDEX "IDX_APPLICATION_WORKSPACE_ID" ON core."application" ("workspaceId");
CREATE UNIQUE INDEX "IDX_APPLICATION_UNIVERSAL_IDENTIFIER_WORKSPACE_ID_UNIQUE"
  ON core."application" ("universalIdentifier", "workspaceId")
  WHERE "deletedAt" IS NULL AND "universalIdentifier" IS NOT NULL;
ALTER TABLE core."workspace" ADD CONSTRAINT "FK_workspace_workspaceCustomApplicationId"
  FOREIGN KEY ("workspaceCustomApplicationId") REFERENCES core."application" ("id") ON DELETE RESTRICT;

-- core.user: packages/twenty-server/src/engine/core-modules/user/user.entity.ts. Its
-- @BeforeInsert/@BeforeUpdate formatEmail lower-cases "email", so rows here are lower-case even
-- where workspaceMember.userEmail is not.
CREATE TABLE core."user" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "firstName" varchar NOT NULL DEFAULT '',
  "lastName" varchar NOT NULL DEFAULT '',
  "email" varchar NOT NULL,
  "defaultAvatarUrl" varchar,
  "isEmailVerified" boolean NOT NULL DEFAULT false,
  "disabled" boolean NOT NULL DEFAULT false,
  "passwordHash" varchar,
  "canImpersonate" boolean NOT NULL DEFAULT false,
  "canAccessFullAdminPanel" boolean NOT NULL DEFAULT false,
  "locale" varchar NOT NULL DEFAULT 'en',
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz
);
CREATE UNIQUE INDEX "UQ_USER_EMAIL" ON core."user" ("email") WHERE "deletedAt" IS NULL;

-- packages/twenty-server/src/engine/core-modules/user-workspace/user-workspace.entity.ts
CREATE TABLE core."userWorkspace" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "userId" uuid NOT NULL REFERENCES core."user" ("id") ON DELETE CASCADE,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "defaultAvatarUrl" varchar,
  "locale" varchar NOT NULL DEFAULT 'en',
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz,
  CONSTRAINT "IDX_USER_WORKSPACE_USER_ID_WORKSPACE_ID_UNIQUE" UNIQUE ("userId", "workspaceId")
);
CREATE INDEX "IDX_USER_WORKSPACE_USER_ID" ON core."userWorkspace" ("userId");
CREATE INDEX "IDX_USER_WORKSPACE_WORKSPACE_ID" ON core."userWorkspace" ("workspaceId");

-- packages/twenty-server/src/engine/metadata-modules/data-source/data-source.entity.ts
CREATE TYPE core."dataSource_type_enum" AS ENUM ('postgres');
CREATE TABLE core."dataSource" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "label" varchar,
  "url" varchar,
  "schema" varchar,
  "type" core."dataSource_type_enum" NOT NULL DEFAULT 'postgres',
  "isRemote" boolean NOT NULL DEFAULT false,
  "workspaceId" uuid NOT NULL,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now()
);

-- packages/twenty-server/src/engine/metadata-modules/object-metadata/object-metadata.entity.ts,
-- plus "universalIdentifier"/"applicationId" of the SyncableEntity base class
-- (packages/twenty-server/src/engine/workspace-manager/workspace-sync/types/syncable-entity.interface.ts).
CREATE TABLE core."objectMetadata" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "standardId" uuid,
  "dataSourceId" uuid NOT NULL REFERENCES core."dataSource" ("id") ON DELETE CASCADE,
  "nameSingular" varchar NOT NULL,
  "namePlural" varchar NOT NULL,
  "labelSingular" varchar NOT NULL,
  "labelPlural" varchar NOT NULL,
  "description" text,
  "icon" varchar,
  "standardOverrides" jsonb,
  "targetTableName" varchar NOT NULL,
  "isCustom" boolean NOT NULL DEFAULT false,
  "isRemote" boolean NOT NULL DEFAULT false,
  "isActive" boolean NOT NULL DEFAULT false,
  "isSystem" boolean NOT NULL DEFAULT false,
  "isAuditLogged" boolean NOT NULL DEFAULT true,
  "isSearchable" boolean NOT NULL DEFAULT false,
  "duplicateCriteria" jsonb,
  "shortcut" varchar,
  "labelIdentifierFieldMetadataId" uuid,
  "imageIdentifierFieldMetadataId" uuid,
  "isLabelSyncedWithName" boolean NOT NULL DEFAULT false,
  "workspaceId" uuid NOT NULL,
  "universalIdentifier" uuid,
  "applicationId" uuid REFERENCES core."application" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "IDX_OBJECT_METADATA_NAME_SINGULAR_WORKSPACE_ID_UNIQUE" UNIQUE ("nameSingular", "workspaceId"),
  CONSTRAINT "IDX_OBJECT_METADATA_NAME_PLURAL_WORKSPACE_ID_UNIQUE" UNIQUE ("namePlural", "workspaceId")
);
CREATE UNIQUE INDEX "IDX_OBJECT_METADATA_WORKSPACE_ID_UNIVERSAL_IDENTIFIER"
  ON core."objectMetadata" ("workspaceId", "universalIdentifier");

-- packages/twenty-server/src/engine/metadata-modules/field-metadata/field-metadata.entity.ts
-- (+ SyncableEntity). type is a varchar holding a FieldMetadataType value.
CREATE TABLE core."fieldMetadata" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "standardId" uuid,
  "objectMetadataId" uuid NOT NULL REFERENCES core."objectMetadata" ("id") ON DELETE CASCADE,
  "type" varchar NOT NULL,
  "name" varchar NOT NULL,
  "label" varchar NOT NULL,
  "defaultValue" jsonb,
  "description" text,
  "icon" varchar,
  "standardOverrides" jsonb,
  "options" jsonb,
  "settings" jsonb,
  "isCustom" boolean NOT NULL DEFAULT false,
  "isActive" boolean NOT NULL DEFAULT false,
  "isSystem" boolean NOT NULL DEFAULT false,
  "isUIReadOnly" boolean NOT NULL DEFAULT false,
  "isNullable" boolean DEFAULT true,
  "isUnique" boolean DEFAULT false,
  "isLabelSyncedWithName" boolean NOT NULL DEFAULT false,
  "relationTargetFieldMetadataId" uuid UNIQUE REFERENCES core."fieldMetadata" ("id"),
  "relationTargetObjectMetadataId" uuid REFERENCES core."objectMetadata" ("id") ON DELETE CASCADE,
  "morphId" uuid,
  "workspaceId" uuid NOT NULL,
  "universalIdentifier" uuid,
  "applicationId" uuid REFERENCES core."application" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "IDX_FIELD_METADATA_NAME_OBJECT_METADATA_ID_WORKSPACE_ID_UNIQUE"
    UNIQUE ("name", "objectMetadataId", "workspaceId"),
  CONSTRAINT "CHK_FIELD_METADATA_MORPH_RELATION_REQUIRES_MORPH_ID"
    CHECK (("type" != 'MORPH_RELATION') OR ("type" = 'MORPH_RELATION' AND "morphId" IS NOT NULL))
);
CREATE INDEX "IDX_FIELD_METADATA_RELATION_TARGET_OBJECT_METADATA_ID"
  ON core."fieldMetadata" ("relationTargetObjectMetadataId");
CREATE INDEX "IDX_FIELD_METADATA_OBJECT_METADATA_ID_WORKSPACE_ID"
  ON core."fieldMetadata" ("objectMetadataId", "workspaceId");
CREATE INDEX "IDX_FIELD_METADATA_WORKSPACE_ID" ON core."fieldMetadata" ("workspaceId");
CREATE UNIQUE INDEX "IDX_FIELD_METADATA_WORKSPACE_ID_UNIVERSAL_IDENTIFIER"
  ON core."fieldMetadata" ("workspaceId", "universalIdentifier");

-- packages/twenty-server/src/engine/metadata-modules/index-metadata/index-metadata.entity.ts and
-- index-field-metadata.entity.ts (indexType/indexWhereClause/isUnique/isCustom from the core
-- migrations addIndexType, addWhereToIndexMetadata, addIsUniqueToIndexMetadata,
-- addIsCustomColumnToIndexMetadata; the entities themselves were not opened).
CREATE TYPE core."indexMetadata_indextype_enum" AS ENUM ('BTREE', 'GIN');
CREATE TABLE core."indexMetadata" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "name" varchar NOT NULL,
  "workspaceId" uuid,
  "objectMetadataId" uuid NOT NULL REFERENCES core."objectMetadata" ("id") ON DELETE CASCADE,
  "isCustom" boolean NOT NULL DEFAULT false,
  "isUnique" boolean NOT NULL DEFAULT false,
  "indexWhereClause" text,
  "indexType" core."indexMetadata_indextype_enum" NOT NULL DEFAULT 'BTREE',
  "universalIdentifier" uuid,
  "applicationId" uuid REFERENCES core."application" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "IDX_INDEX_METADATA_NAME_WORKSPACE_ID_OBJECT_METADATA_ID_UNIQUE"
    UNIQUE ("name", "workspaceId", "objectMetadataId")
);
CREATE TABLE core."indexFieldMetadata" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "indexMetadataId" uuid NOT NULL REFERENCES core."indexMetadata" ("id") ON DELETE CASCADE,
  "fieldMetadataId" uuid NOT NULL REFERENCES core."fieldMetadata" ("id") ON DELETE CASCADE,
  "order" integer NOT NULL,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now()
);

-- packages/twenty-server/src/engine/core-modules/feature-flag/feature-flag.entity.ts
CREATE TABLE core."featureFlag" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "key" text NOT NULL,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "value" boolean NOT NULL,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "IndexOnKeyAndWorkspaceIdUnique" UNIQUE ("key", "workspaceId")
);

-- packages/twenty-server/src/engine/core-modules/file/entities/file.entity.ts (1.18+ shape:
-- path relative to <workspaceId>/<application universalIdentifier>/; the 2.19 "status" column is
-- not part of 2.0). Unique (workspaceId, applicationId, path).
CREATE TABLE core."file" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "applicationId" uuid REFERENCES core."application" ("id") ON DELETE RESTRICT,
  "path" varchar NOT NULL,
  "size" bigint NOT NULL,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz,
  "isStaticAsset" boolean NOT NULL DEFAULT false,
  "settings" jsonb,
  "mimeType" varchar NOT NULL DEFAULT 'application/octet-stream',
  CONSTRAINT "IDX_APPLICATION_PATH_WORKSPACE_ID_APPLICATION_ID_UNIQUE"
    UNIQUE ("workspaceId", "applicationId", "path")
);
CREATE INDEX "IDX_FILE_WORKSPACE_ID" ON core."file" ("workspaceId");

-- ---------------------------------------------------------------------------------------------
-- Workspace configuration (issue 16): views, roles and permissions, API keys, webhooks,
-- navigation menu items and page layouts. These tables have the Twenty 2.21 shape (columns,
-- enum types, foreign keys and unique indexes as `\d` shows them on a real 2.21 database, see
-- /work/notes/issue16-facts.md), not the 2.0 shape the rest of this file mirrors: the reader
-- must cope with the newest columns, and sql/layout_b/downgrade.sql takes them back to 1.16.
-- Every table but apiKey is a syncable entity: "universalIdentifier" and "applicationId"
-- (engine/workspace-manager/types/syncable-entity.interface.ts); "applicationId" tells an entity
-- of Twenty's standard application from a custom one. Paths are relative to
-- packages/twenty-server/src/engine/metadata-modules/ (MM/) and core-modules/ (CM/).

-- CM/api-key/api-key.entity.ts (not syncable).
CREATE TABLE core."apiKey" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "name" varchar NOT NULL,
  "expiresAt" timestamptz NOT NULL,
  "revokedAt" timestamptz,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now()
);

-- MM/view/entities/view.entity.ts (overridable: "overrides", "isActive").
CREATE TYPE core."view_type_enum" AS ENUM ('TABLE', 'KANBAN', 'CALENDAR', 'FIELDS_WIDGET', 'TABLE_WIDGET');
CREATE TYPE core."view_key_enum" AS ENUM ('INDEX');
CREATE TYPE core."view_openrecordin_enum" AS ENUM ('SIDE_PANEL', 'RECORD_PAGE');
CREATE TYPE core."view_kanbanaggregateoperation_enum" AS ENUM ('MIN', 'MAX', 'AVG', 'SUM', 'COUNT',
  'COUNT_UNIQUE_VALUES', 'COUNT_EMPTY', 'COUNT_NOT_EMPTY', 'COUNT_TRUE', 'COUNT_FALSE',
  'PERCENTAGE_EMPTY', 'PERCENTAGE_NOT_EMPTY');
CREATE TYPE core."view_calendarlayout_enum" AS ENUM ('DAY', 'WEEK', 'MONTH');
CREATE TYPE core."view_visibility_enum" AS ENUM ('WORKSPACE', 'UNLISTED');
CREATE TABLE core."view" (
  "universalIdentifier" uuid NOT NULL,
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "name" text NOT NULL DEFAULT '',
  "objectMetadataId" uuid NOT NULL REFERENCES core."objectMetadata" ("id") ON DELETE CASCADE,
  "type" core."view_type_enum" NOT NULL DEFAULT 'TABLE',
  "key" core."view_key_enum",
  "icon" text NOT NULL,
  "position" double precision NOT NULL DEFAULT 0,
  "isCompact" boolean NOT NULL DEFAULT false,
  "isCustom" boolean NOT NULL DEFAULT false,
  "openRecordIn" core."view_openrecordin_enum" NOT NULL DEFAULT 'SIDE_PANEL',
  "kanbanAggregateOperation" core."view_kanbanaggregateoperation_enum",
  "kanbanAggregateOperationFieldMetadataId" uuid REFERENCES core."fieldMetadata" ("id") ON DELETE CASCADE,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz,
  "anyFieldFilterValue" text,
  "calendarLayout" core."view_calendarlayout_enum",
  "calendarFieldMetadataId" uuid REFERENCES core."fieldMetadata" ("id") ON DELETE CASCADE,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE,
  "visibility" core."view_visibility_enum" NOT NULL DEFAULT 'WORKSPACE',
  "createdByUserWorkspaceId" uuid REFERENCES core."userWorkspace" ("id") ON DELETE SET NULL,
  "mainGroupByFieldMetadataId" uuid REFERENCES core."fieldMetadata" ("id") ON DELETE CASCADE,
  "shouldHideEmptyGroups" boolean NOT NULL DEFAULT false,
  "overrides" jsonb,
  "isActive" boolean NOT NULL DEFAULT true,
  "isSystemSideEffect" boolean NOT NULL DEFAULT false,
  "kanbanColumnWidth" integer,
  CONSTRAINT "CHK_VIEW_CALENDAR_INTEGRITY" CHECK ("type" <> 'CALENDAR'
    OR ("calendarLayout" IS NOT NULL AND "calendarFieldMetadataId" IS NOT NULL))
);
CREATE UNIQUE INDEX "IDX_552aa6908966e980099b3e5ebf" ON core."view" ("workspaceId", "universalIdentifier");
CREATE INDEX "IDX_VIEW_WORKSPACE_ID_OBJECT_METADATA_ID" ON core."view" ("workspaceId", "objectMetadataId");
CREATE INDEX "IDX_VIEW_VISIBILITY" ON core."view" ("visibility");

-- MM/view-field-group/entities/view-field-group.entity.ts (2.x, migration
-- 1770818941843-add-view-field-group; columns as a real 2.21 has them): a record page's sections.
CREATE TABLE core."viewFieldGroup" (
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "universalIdentifier" uuid NOT NULL,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE,
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "name" text NOT NULL,
  "position" double precision NOT NULL DEFAULT 0,
  "isVisible" boolean NOT NULL DEFAULT true,
  "viewId" uuid NOT NULL REFERENCES core."view" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz,
  "overrides" jsonb,
  "isActive" boolean NOT NULL DEFAULT true
);
CREATE UNIQUE INDEX "IDX_VIEW_FIELD_GROUP_UNIVERSAL_IDENTIFIER" ON core."viewFieldGroup"
  ("workspaceId", "universalIdentifier");

-- MM/view-field/entities/view-field.entity.ts ("viewFieldGroupId": the section it sits in).
CREATE TYPE core."viewField_aggregateoperation_enum" AS ENUM ('MIN', 'MAX', 'AVG', 'SUM', 'COUNT',
  'COUNT_UNIQUE_VALUES', 'COUNT_EMPTY', 'COUNT_NOT_EMPTY', 'COUNT_TRUE', 'COUNT_FALSE',
  'PERCENTAGE_EMPTY', 'PERCENTAGE_NOT_EMPTY');
CREATE TABLE core."viewField" (
  "universalIdentifier" uuid NOT NULL,
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "fieldMetadataId" uuid NOT NULL REFERENCES core."fieldMetadata" ("id") ON DELETE CASCADE,
  "isVisible" boolean NOT NULL DEFAULT true,
  "size" integer NOT NULL DEFAULT 0,
  "position" double precision NOT NULL DEFAULT 0,
  "aggregateOperation" core."viewField_aggregateoperation_enum",
  "viewId" uuid NOT NULL REFERENCES core."view" ("id") ON DELETE CASCADE,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE,
  "viewFieldGroupId" uuid REFERENCES core."viewFieldGroup" ("id") ON DELETE SET NULL,
  "overrides" jsonb,
  "isActive" boolean NOT NULL DEFAULT true,
  "isSystemSideEffect" boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX "IDX_b86af4ea24cae518dee8eae996" ON core."viewField" ("workspaceId", "universalIdentifier");
CREATE UNIQUE INDEX "IDX_VIEW_FIELD_FIELD_METADATA_ID_VIEW_ID_UNIQUE" ON core."viewField"
  ("fieldMetadataId", "viewId") WHERE "deletedAt" IS NULL;
CREATE INDEX "IDX_VIEW_FIELD_VIEW_ID" ON core."viewField" ("viewId");

-- MM/view-filter-group/entities/view-filter-group.entity.ts (the self key is deferrable).
CREATE TYPE core."viewFilterGroup_logicaloperator_enum" AS ENUM ('AND', 'OR', 'NOT');
CREATE TABLE core."viewFilterGroup" (
  "universalIdentifier" uuid NOT NULL,
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "parentViewFilterGroupId" uuid REFERENCES core."viewFilterGroup" ("id") ON DELETE CASCADE
    DEFERRABLE INITIALLY DEFERRED,
  "logicalOperator" core."viewFilterGroup_logicaloperator_enum" NOT NULL DEFAULT 'AND',
  "positionInViewFilterGroup" double precision,
  "viewId" uuid NOT NULL REFERENCES core."view" ("id") ON DELETE CASCADE,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX "IDX_e6ed40a61e4584e98584019a47" ON core."viewFilterGroup" ("workspaceId", "universalIdentifier");

-- MM/view-filter/entities/view-filter.entity.ts. "value" is jsonb, often a JSON string inside.
CREATE TYPE core."viewFilter_operand_enum" AS ENUM ('IS', 'IS_NOT_NULL', 'IS_NOT',
  'LESS_THAN_OR_EQUAL', 'GREATER_THAN_OR_EQUAL', 'IS_BEFORE', 'IS_AFTER', 'CONTAINS',
  'DOES_NOT_CONTAIN', 'IS_EMPTY', 'IS_NOT_EMPTY', 'IS_RELATIVE', 'IS_IN_PAST', 'IS_IN_FUTURE',
  'IS_TODAY', 'VECTOR_SEARCH');
CREATE TABLE core."viewFilter" (
  "universalIdentifier" uuid NOT NULL,
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "fieldMetadataId" uuid NOT NULL REFERENCES core."fieldMetadata" ("id") ON DELETE CASCADE,
  "operand" core."viewFilter_operand_enum" NOT NULL DEFAULT 'CONTAINS',
  "value" jsonb NOT NULL,
  "viewFilterGroupId" uuid REFERENCES core."viewFilterGroup" ("id") ON DELETE CASCADE,
  "positionInViewFilterGroup" double precision,
  "subFieldName" text,
  "viewId" uuid NOT NULL REFERENCES core."view" ("id") ON DELETE CASCADE,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE,
  "relationTargetFieldMetadataId" uuid REFERENCES core."fieldMetadata" ("id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX "IDX_cd4588bfc9ad73345b3953a039" ON core."viewFilter" ("workspaceId", "universalIdentifier");

-- MM/view-sort/entities/view-sort.entity.ts
CREATE TYPE core."viewSort_direction_enum" AS ENUM ('ASC', 'DESC');
CREATE TABLE core."viewSort" (
  "universalIdentifier" uuid NOT NULL,
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "fieldMetadataId" uuid NOT NULL REFERENCES core."fieldMetadata" ("id") ON DELETE CASCADE,
  "direction" core."viewSort_direction_enum" NOT NULL DEFAULT 'ASC',
  "viewId" uuid NOT NULL REFERENCES core."view" ("id") ON DELETE CASCADE,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE,
  "subFieldName" varchar
);
CREATE UNIQUE INDEX "IDX_38232fc0c6567ed029c2b1a12c" ON core."viewSort" ("workspaceId", "universalIdentifier");
CREATE UNIQUE INDEX "IDX_VIEW_SORT_FIELD_METADATA_ID_VIEW_ID_UNIQUE" ON core."viewSort"
  ("fieldMetadataId", "viewId") WHERE "deletedAt" IS NULL;

-- MM/view-group/entities/view-group.entity.ts: no "fieldMetadataId" since migration
-- 1765808791153-remove-field-metadata-id-in-view-group (the field is view."mainGroupByFieldMetadataId").
CREATE TABLE core."viewGroup" (
  "universalIdentifier" uuid NOT NULL,
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "isVisible" boolean NOT NULL DEFAULT true,
  "fieldValue" text NOT NULL,
  "position" double precision NOT NULL DEFAULT 0,
  "viewId" uuid NOT NULL REFERENCES core."view" ("id") ON DELETE CASCADE,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX "IDX_a44e3b03f0eca32d0504d5ef73" ON core."viewGroup" ("workspaceId", "universalIdentifier");

-- MM/role/role.entity.ts
CREATE TABLE core."role" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "label" varchar NOT NULL,
  "canUpdateAllSettings" boolean NOT NULL DEFAULT false,
  "canAccessAllTools" boolean NOT NULL DEFAULT false,
  "canReadAllObjectRecords" boolean NOT NULL DEFAULT false,
  "canUpdateAllObjectRecords" boolean NOT NULL DEFAULT false,
  "canSoftDeleteAllObjectRecords" boolean NOT NULL DEFAULT false,
  "canDestroyAllObjectRecords" boolean NOT NULL DEFAULT false,
  "description" text,
  "icon" varchar,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "isEditable" boolean NOT NULL DEFAULT true,
  "canBeAssignedToUsers" boolean NOT NULL DEFAULT true,
  "canBeAssignedToAgents" boolean NOT NULL DEFAULT true,
  "canBeAssignedToApiKeys" boolean NOT NULL DEFAULT true,
  "universalIdentifier" uuid NOT NULL,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE,
  CONSTRAINT "IDX_ROLE_LABEL_WORKSPACE_ID_UNIQUE" UNIQUE ("label", "workspaceId")
);
CREATE UNIQUE INDEX "IDX_3b7ff27925c0959777682c1adc" ON core."role" ("workspaceId", "universalIdentifier");

-- MM/object-permission/object-permission.entity.ts: NULL inherits from the role.
CREATE TABLE core."objectPermission" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "roleId" uuid NOT NULL REFERENCES core."role" ("id") ON DELETE CASCADE,
  "objectMetadataId" uuid NOT NULL REFERENCES core."objectMetadata" ("id") ON DELETE CASCADE,
  "canReadObjectRecords" boolean,
  "canUpdateObjectRecords" boolean,
  "canSoftDeleteObjectRecords" boolean,
  "canDestroyObjectRecords" boolean,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "universalIdentifier" uuid NOT NULL,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE,
  CONSTRAINT "IDX_OBJECT_PERMISSION_OBJECT_METADATA_ID_ROLE_ID_UNIQUE" UNIQUE ("objectMetadataId", "roleId")
);
CREATE UNIQUE INDEX "IDX_c5ea53618b32558fe24e495f21" ON core."objectPermission" ("workspaceId", "universalIdentifier");

-- MM/object-permission/field-permission/field-permission.entity.ts: only restrictions.
CREATE TABLE core."fieldPermission" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "roleId" uuid NOT NULL REFERENCES core."role" ("id") ON DELETE CASCADE,
  "objectMetadataId" uuid NOT NULL REFERENCES core."objectMetadata" ("id") ON DELETE CASCADE,
  "fieldMetadataId" uuid NOT NULL REFERENCES core."fieldMetadata" ("id") ON DELETE CASCADE,
  "canReadFieldValue" boolean,
  "canUpdateFieldValue" boolean,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "universalIdentifier" uuid NOT NULL,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE,
  CONSTRAINT "IDX_FIELD_PERMISSION_FIELD_METADATA_ID_ROLE_ID_UNIQUE" UNIQUE ("fieldMetadataId", "roleId")
);
CREATE UNIQUE INDEX "IDX_0dedb90c717e179ef653c512b9" ON core."fieldPermission" ("workspaceId", "universalIdentifier");

-- MM/permission-flag/permission-flag.entity.ts: since 2.6 the catalogue of flag definitions.
CREATE TABLE core."permissionFlag" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE,
  "universalIdentifier" uuid NOT NULL,
  "key" varchar NOT NULL,
  "label" varchar NOT NULL,
  "description" text,
  "icon" varchar,
  "permissionType" varchar NOT NULL,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "IDX_PERMISSION_FLAG_KEY_WORKSPACE_ID_UNIQUE" UNIQUE ("key", "workspaceId")
);
CREATE UNIQUE INDEX "IDX_da8ffd3c24b4a819430a861067" ON core."permissionFlag" ("workspaceId", "universalIdentifier");

-- MM/role-permission-flag/role-permission-flag.entity.ts: which role holds which flag.
CREATE TABLE core."rolePermissionFlag" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "roleId" uuid NOT NULL REFERENCES core."role" ("id") ON DELETE CASCADE,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "universalIdentifier" uuid NOT NULL,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE,
  "permissionFlagId" uuid NOT NULL REFERENCES core."permissionFlag" ("id") ON DELETE CASCADE,
  CONSTRAINT "IDX_ROLE_PERMISSION_FLAG_PERMISSION_FLAG_ID_ROLE_ID_UNIQUE" UNIQUE ("permissionFlagId", "roleId")
);
CREATE UNIQUE INDEX "IDX_e4559ae0dba56e53714137c704" ON core."rolePermissionFlag" ("workspaceId", "universalIdentifier");

-- MM/role-target/role-target.entity.ts: exactly one of member, agent, API key; one role each.
-- "userWorkspaceId" has no foreign key.
CREATE TABLE core."roleTarget" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "roleId" uuid NOT NULL REFERENCES core."role" ("id") ON DELETE CASCADE,
  "userWorkspaceId" uuid,
  "agentId" uuid,
  "apiKeyId" uuid REFERENCES core."apiKey" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "universalIdentifier" uuid NOT NULL,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE,
  CONSTRAINT "CHK_role_target_single_entity" CHECK (
    ("agentId" IS NOT NULL AND "userWorkspaceId" IS NULL AND "apiKeyId" IS NULL)
    OR ("agentId" IS NULL AND "userWorkspaceId" IS NOT NULL AND "apiKeyId" IS NULL)
    OR ("agentId" IS NULL AND "userWorkspaceId" IS NULL AND "apiKeyId" IS NOT NULL)),
  CONSTRAINT "IDX_ROLE_TARGET_UNIQUE_AGENT" UNIQUE ("workspaceId", "agentId"),
  CONSTRAINT "IDX_ROLE_TARGET_UNIQUE_API_KEY" UNIQUE ("workspaceId", "apiKeyId"),
  CONSTRAINT "IDX_ROLE_TARGET_UNIQUE_USER_WORKSPACE" UNIQUE ("workspaceId", "userWorkspaceId")
);
CREATE UNIQUE INDEX "IDX_0082568653b80c15903c5a2ba9" ON core."roleTarget" ("workspaceId", "universalIdentifier");

-- MM/webhook/entities/webhook.entity.ts
CREATE TABLE core."webhook" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "targetUrl" varchar NOT NULL,
  "operations" text[] NOT NULL DEFAULT '{*.*}',
  "description" varchar,
  "secret" varchar NOT NULL,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz,
  "universalIdentifier" uuid NOT NULL,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX "IDX_d48d713d01cc3c81bad1f39795" ON core."webhook" ("workspaceId", "universalIdentifier");

-- MM/page-layout/entities/page-layout.entity.ts, page-layout-tab/…, page-layout-widget/….
CREATE TYPE core."pageLayout_type_enum" AS ENUM ('RECORD_INDEX', 'RECORD_PAGE', 'DASHBOARD', 'STANDALONE_PAGE');
CREATE TYPE core."pageLayoutTab_layoutmode_enum" AS ENUM ('GRID', 'VERTICAL_LIST', 'CANVAS');
CREATE TYPE core."pageLayoutWidget_type_enum" AS ENUM ('VIEW', 'IFRAME', 'FIELD', 'FIELDS', 'GRAPH',
  'STANDALONE_RICH_TEXT', 'TIMELINE', 'TASKS', 'NOTES', 'FILES', 'EMAILS', 'CALENDAR',
  'FIELD_RICH_TEXT', 'WORKFLOW', 'WORKFLOW_VERSION', 'WORKFLOW_RUN', 'FRONT_COMPONENT',
  'RECORD_TABLE', 'EMAIL_THREAD');
CREATE TABLE core."pageLayout" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "name" varchar NOT NULL,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "type" core."pageLayout_type_enum" NOT NULL DEFAULT 'RECORD_PAGE',
  "objectMetadataId" uuid REFERENCES core."objectMetadata" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz,
  "universalIdentifier" uuid NOT NULL,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE,
  "defaultTabToFocusOnMobileAndSidePanelId" uuid,
  "isSystemSideEffect" boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX "IDX_256fabec226411154baba649df" ON core."pageLayout" ("workspaceId", "universalIdentifier");
CREATE TABLE core."pageLayoutTab" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "title" varchar NOT NULL,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "position" double precision NOT NULL DEFAULT 0,
  "pageLayoutId" uuid NOT NULL REFERENCES core."pageLayout" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz,
  "universalIdentifier" uuid NOT NULL,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE,
  "icon" varchar,
  "layoutMode" core."pageLayoutTab_layoutmode_enum" NOT NULL DEFAULT 'GRID',
  "overrides" jsonb,
  "isActive" boolean NOT NULL DEFAULT true,
  "isSystemSideEffect" boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX "IDX_3763c4e8f942ff1e24040a13a9" ON core."pageLayoutTab" ("workspaceId", "universalIdentifier");
ALTER TABLE core."pageLayout" ADD CONSTRAINT "FK_747fbc25827bdcb9e35cc68a990"
  FOREIGN KEY ("defaultTabToFocusOnMobileAndSidePanelId") REFERENCES core."pageLayoutTab" ("id")
  ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED;
CREATE TABLE core."pageLayoutWidget" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "pageLayoutTabId" uuid NOT NULL REFERENCES core."pageLayoutTab" ("id") ON DELETE CASCADE,
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "title" varchar NOT NULL,
  "type" core."pageLayoutWidget_type_enum" NOT NULL DEFAULT 'VIEW',
  "objectMetadataId" uuid REFERENCES core."objectMetadata" ("id") ON DELETE CASCADE,
  "gridPosition" jsonb NOT NULL,
  "configuration" jsonb NOT NULL,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz,
  "universalIdentifier" uuid NOT NULL,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE,
  "conditionalDisplay" jsonb,
  "position" jsonb,
  "overrides" jsonb,
  "isActive" boolean NOT NULL DEFAULT true,
  "conditionalAvailabilityExpression" varchar,
  "isSystemSideEffect" boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX "IDX_2a33a0e7e44c393ca7bb578dae" ON core."pageLayoutWidget" ("workspaceId", "universalIdentifier");

-- MM/navigation-menu-item/entities/navigation-menu-item.entity.ts: NULL "userWorkspaceId" is a
-- workspace-level item, a set one a member's personal item (a former favorite).
CREATE TYPE core."navigationMenuItem_type_enum" AS ENUM ('VIEW', 'FOLDER', 'LINK', 'OBJECT', 'RECORD', 'PAGE_LAYOUT');
CREATE TABLE core."navigationMenuItem" (
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "universalIdentifier" uuid NOT NULL,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE,
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "userWorkspaceId" uuid REFERENCES core."userWorkspace" ("id") ON DELETE CASCADE,
  "targetRecordId" uuid,
  "targetObjectMetadataId" uuid REFERENCES core."objectMetadata" ("id") ON DELETE CASCADE,
  "viewId" uuid REFERENCES core."view" ("id") ON DELETE CASCADE,
  "name" text,
  "folderId" uuid REFERENCES core."navigationMenuItem" ("id") ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  "position" double precision NOT NULL,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "link" text,
  "color" text,
  "icon" text,
  "type" core."navigationMenuItem_type_enum" NOT NULL,
  "pageLayoutId" uuid REFERENCES core."pageLayout" ("id") ON DELETE CASCADE,
  CONSTRAINT "CHK_navigation_menu_item_type_fields" CHECK ("type" = 'FOLDER'
    OR ("type" = 'OBJECT' AND "targetObjectMetadataId" IS NOT NULL)
    OR ("type" = 'VIEW' AND "viewId" IS NOT NULL)
    OR ("type" = 'RECORD' AND "targetRecordId" IS NOT NULL AND "targetObjectMetadataId" IS NOT NULL)
    OR ("type" = 'LINK' AND "link" IS NOT NULL)
    OR ("type" = 'PAGE_LAYOUT' AND "pageLayoutId" IS NOT NULL))
);
CREATE UNIQUE INDEX "IDX_4d8beaebdfcd5d82ebe6e8b58f" ON core."navigationMenuItem" ("workspaceId", "universalIdentifier");

-- MM/row-level-permission-predicate/entities/row-level-permission-predicate-group.entity.ts
-- (Enterprise: a role's row-level permissions on one object; groups nest through their parent).
CREATE TYPE core."rowLevelPermissionPredicateGroup_logicaloperator_enum" AS ENUM ('AND', 'OR');
CREATE TABLE core."rowLevelPermissionPredicateGroup" (
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "universalIdentifier" uuid NOT NULL,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE,
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "parentRowLevelPermissionPredicateGroupId" uuid
    REFERENCES core."rowLevelPermissionPredicateGroup" ("id") ON DELETE CASCADE
    DEFERRABLE INITIALLY DEFERRED,
  "logicalOperator" core."rowLevelPermissionPredicateGroup_logicaloperator_enum" NOT NULL
    DEFAULT 'AND',
  "positionInRowLevelPermissionPredicateGroup" double precision,
  "roleId" uuid NOT NULL REFERENCES core."role" ("id") ON DELETE CASCADE,
  "objectMetadataId" uuid NOT NULL REFERENCES core."objectMetadata" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz
);
-- SyncableEntity's unique (workspaceId, universalIdentifier); a real server names it by TypeORM's hash.
CREATE UNIQUE INDEX "IDX_RLPPG_WORKSPACE_ID_UNIVERSAL_IDENTIFIER"
  ON core."rowLevelPermissionPredicateGroup" ("workspaceId", "universalIdentifier");
CREATE INDEX "IDX_RLPPG_WORKSPACE_ID_ROLE_ID_OBJECT_METADATA_ID"
  ON core."rowLevelPermissionPredicateGroup" ("workspaceId", "roleId", "objectMetadataId");
CREATE INDEX "IDX_RLPPG_PARENT_GROUP_ID"
  ON core."rowLevelPermissionPredicateGroup" ("parentRowLevelPermissionPredicateGroupId");

-- MM/row-level-permission-predicate/entities/row-level-permission-predicate.entity.ts
-- ("value" is jsonb: a string, a list, or {isCurrentWorkspaceMemberSelected, selectedRecordIds}).
CREATE TYPE core."rowLevelPermissionPredicate_operand_enum" AS ENUM ('IS', 'IS_NOT_NULL',
  'IS_NOT', 'LESS_THAN_OR_EQUAL', 'GREATER_THAN_OR_EQUAL', 'IS_BEFORE', 'IS_AFTER', 'CONTAINS',
  'DOES_NOT_CONTAIN', 'IS_EMPTY', 'IS_NOT_EMPTY', 'IS_RELATIVE', 'IS_IN_PAST', 'IS_IN_FUTURE',
  'IS_TODAY', 'VECTOR_SEARCH');
CREATE TABLE core."rowLevelPermissionPredicate" (
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "universalIdentifier" uuid NOT NULL,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE,
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "fieldMetadataId" uuid NOT NULL REFERENCES core."fieldMetadata" ("id") ON DELETE CASCADE,
  "objectMetadataId" uuid NOT NULL REFERENCES core."objectMetadata" ("id") ON DELETE CASCADE,
  "operand" core."rowLevelPermissionPredicate_operand_enum" NOT NULL DEFAULT 'CONTAINS',
  "value" jsonb,
  "subFieldName" text,
  "workspaceMemberFieldMetadataId" uuid
    REFERENCES core."fieldMetadata" ("id") ON DELETE SET NULL,
  "workspaceMemberSubFieldName" text,
  "rowLevelPermissionPredicateGroupId" uuid
    REFERENCES core."rowLevelPermissionPredicateGroup" ("id") ON DELETE CASCADE,
  "positionInRowLevelPermissionPredicateGroup" double precision,
  "roleId" uuid NOT NULL REFERENCES core."role" ("id") ON DELETE CASCADE,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz
);
CREATE UNIQUE INDEX "IDX_RLPP_WORKSPACE_ID_UNIVERSAL_IDENTIFIER"
  ON core."rowLevelPermissionPredicate" ("workspaceId", "universalIdentifier");
CREATE INDEX "IDX_RLPP_WORKSPACE_ID_ROLE_ID_OBJECT_METADATA_ID"
  ON core."rowLevelPermissionPredicate" ("workspaceId", "roleId", "objectMetadataId");
CREATE INDEX "IDX_RLPP_FIELD_METADATA_ID" ON core."rowLevelPermissionPredicate" ("fieldMetadataId");
CREATE INDEX "IDX_RLPP_GROUP_ID"
  ON core."rowLevelPermissionPredicate" ("rowLevelPermissionPredicateGroupId");
CREATE INDEX "IDX_RLPP_WORKSPACE_MEMBER_FIELD_METADATA_ID"
  ON core."rowLevelPermissionPredicate" ("workspaceMemberFieldMetadataId");

-- MM/ai/ai-agent/entities/agent.entity.ts (2.21; the columns as the 1700140427984 setup and the
-- later agent migrations leave them: "standardId" dropped, "description" text,
-- "evaluationInputs" added, "universalIdentifier" and "applicationId" NOT NULL).
CREATE TABLE core."agent" (
  "id" uuid NOT NULL DEFAULT public.uuid_generate_v4() PRIMARY KEY,
  "name" varchar NOT NULL,
  "label" varchar NOT NULL,
  "icon" varchar,
  "description" text,
  "prompt" text NOT NULL,
  "modelId" varchar NOT NULL DEFAULT 'default-smart-model',
  "responseFormat" jsonb DEFAULT '{"type":"text"}',
  "workspaceId" uuid NOT NULL REFERENCES core."workspace" ("id") ON DELETE CASCADE,
  "isCustom" boolean NOT NULL DEFAULT false,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "deletedAt" timestamptz,
  "modelConfiguration" jsonb,
  "evaluationInputs" text[] NOT NULL DEFAULT '{}',
  "universalIdentifier" uuid NOT NULL,
  "applicationId" uuid NOT NULL REFERENCES core."application" ("id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX "IDX_AGENT_NAME_WORKSPACE_ID_UNIQUE" ON core."agent" ("name", "workspaceId") WHERE "deletedAt" IS NULL;
CREATE INDEX "IDX_AGENT_ID_DELETED_AT" ON core."agent" ("id", "deletedAt");
