//! Calls on `/metadata` and the workspace: client config, the data model, members, raw GraphQL.

use super::*;

impl Target {
    /// `GET /client-config` (no authentication): the server's version and public settings.
    ///
    /// Source: `engine/core-modules/client-config/client-config.controller.ts`.
    pub async fn client_config(&self) -> Result<ClientConfig, TargetError> {
        let mut call = Call::new(Method::GET, "/client-config".into());
        call.auth = false;
        let raw = self.call(&call, parse_json).await?;
        Ok(ClientConfig {
            app_version: raw
                .get("appVersion")
                .and_then(Value::as_str)
                .map(str::to_owned),
            mutation_maximum_affected_records: raw
                .pointer("/api/mutationMaximumAffectedRecords")
                .and_then(Value::as_u64),
            is_multi_workspace_enabled: raw.get("isMultiWorkspaceEnabled").and_then(Value::as_bool),
            raw,
        })
    }

    /// Reads the target's data model (objects and fields) from `/metadata`, all pages.
    pub async fn model(&self) -> Result<TargetModel, TargetError> {
        let mut objects = Vec::new();
        let mut after: Option<String> = None;
        let mut variant = metadata::ObjectsQuery::NEWEST;
        loop {
            let query = metadata::objects_query(variant, after.as_deref());
            let data = match self.graphql(&query, json!({})).await {
                Ok(data) => data,
                Err(err) => {
                    // An older server that lacks part of the newest query: ask again without it.
                    let next = match &err {
                        TargetError::Rejected { messages, .. } if err.is_graphql_validation() => {
                            variant.fallback(messages)
                        }
                        _ => None,
                    };
                    match next {
                        Some(next) => {
                            debug!(
                                ?next,
                                "target refused part of the model query, asking again"
                            );
                            variant = next;
                            continue;
                        }
                        None => return Err(err),
                    }
                }
            };
            let page = metadata::parse_objects_page(&data)?;
            objects.extend(page.objects);
            match page.next_cursor {
                Some(cursor) if after.as_deref() != Some(cursor.as_str()) => after = Some(cursor),
                Some(_) => {
                    return Err(TargetError::Protocol(
                        "the objects list repeated its cursor".into(),
                    ))
                }
                None => break,
            }
        }
        debug!(objects = objects.len(), "target model read");
        Ok(TargetModel { objects })
    }

    /// Creates a custom object: `createOneObject(input: {object})` on `/metadata`, where
    /// `object` holds `nameSingular`, `namePlural`, `labelSingular`, `labelPlural` and the
    /// optional `description`, `icon`, …. The answer carries no fields; read [`Self::model`]
    /// again for the system fields Twenty adds.
    ///
    /// Not idempotent: after a [`TargetError::Transient`] the object may exist, so re-read the
    /// model before trying again.
    pub async fn create_object(&self, object: Value) -> Result<TargetObject, TargetError> {
        let data = self
            .graphql(
                &metadata::create_object_mutation(),
                json!({ "input": { "object": object } }),
            )
            .await?;
        let node = data
            .get("createOneObject")
            .cloned()
            .ok_or_else(|| TargetError::Protocol("createOneObject answered nothing".into()))?;
        let created: TargetObject = serde_json::from_value(node)
            .map_err(|e| TargetError::Protocol(format!("cannot read the created object: {e}")))?;
        info!(object = %created.name_singular, "object created on the target");
        Ok(created)
    }

    /// Creates a field: `createOneField(input: {field})` on `/metadata`, where `field` holds
    /// `objectMetadataId`, `type`, `name`, `label` and, by type, `options`, `settings`,
    /// `defaultValue`, `isNullable` or `relationCreationPayload` (contract H3).
    ///
    /// Not idempotent, like [`Self::create_object`].
    pub async fn create_field(&self, field: Value) -> Result<TargetField, TargetError> {
        let data = self
            .graphql(
                &metadata::create_field_mutation(),
                json!({ "input": { "field": field } }),
            )
            .await?;
        let node = data
            .get("createOneField")
            .cloned()
            .ok_or_else(|| TargetError::Protocol("createOneField answered nothing".into()))?;
        let created: TargetField = serde_json::from_value(node)
            .map_err(|e| TargetError::Protocol(format!("cannot read the created field: {e}")))?;
        info!(field = %created.name, "field created on the target");
        Ok(created)
    }

    /// Every workspace member of the target (`GET /rest/workspaceMembers`, all pages).
    pub async fn members(&self) -> Result<Vec<TargetMember>, TargetError> {
        let records = self
            .find_all("workspaceMembers", &FindMany::default())
            .await?;
        let mut members = Vec::with_capacity(records.len());
        for record in &records {
            let Some(id) = record
                .get("id")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
            else {
                warn!("skipping a target workspace member without a valid id");
                continue;
            };
            let name = record.get("name").and_then(|n| {
                let part = |k: &str| n.get(k).and_then(Value::as_str).unwrap_or("").trim();
                let joined = format!("{} {}", part("firstName"), part("lastName"));
                let joined = joined.trim();
                (!joined.is_empty()).then(|| joined.to_owned())
            });
            members.push(TargetMember {
                id,
                user_email: record
                    .get("userEmail")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                name,
                avatar_url: record
                    .get("avatarUrl")
                    .and_then(Value::as_str)
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_owned),
            });
        }
        Ok(members)
    }

    /// Runs a GraphQL document on `/metadata` and returns its `data`.
    pub async fn metadata_graphql(
        &self,
        query: &str,
        variables: Value,
    ) -> Result<Value, TargetError> {
        self.graphql(query, variables).await
    }
}
