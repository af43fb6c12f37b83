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
