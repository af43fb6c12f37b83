//! Record calls: batch upserts, reads by page and by id, soft-deletes.

use super::*;

impl Target {
    /// Creates or updates a batch of records, ids preserved:
    /// `POST /rest/batch/{plural}?upsert=true` with `body` (a JSON array). Returns the records
    /// the target sent back, in full; [`Self::upsert_batch_ids`] reads only their ids.
    ///
    /// Source: `engine/api/rest/core/handlers/rest-api-create-many.handler.ts`; the answer is
    /// `{data: {create<Plural>: […]}}` now and was `{data: {<plural>: […]}}` in one version, so
    /// the single list under `data` is taken whatever its key.
    pub async fn upsert_batch(
        &self,
        plural: &str,
        body: BatchBody,
    ) -> Result<Vec<Value>, TargetError> {
        self.send_batch(plural, body, |b| data_list(&parse_json(b)?, "batch answer"))
            .await
    }

    /// Like [`Self::upsert_batch`], but reads only the `id` of each returned record, in the
    /// answer's order, and skips the rest of the answer without building it: the full answer
    /// was a third of this client's CPU in the benchmark profile (`docs/performance.md`).
    pub async fn upsert_batch_ids(
        &self,
        plural: &str,
        body: BatchBody,
    ) -> Result<Vec<ReturnedId>, TargetError> {
        self.send_batch(plural, body, parse_returned_ids).await
    }

    async fn send_batch<T>(
        &self,
        plural: &str,
        body: BatchBody,
        parse: impl Fn(&[u8]) -> Result<Vec<T>, TargetError>,
    ) -> Result<Vec<T>, TargetError> {
        check_name(plural)?;
        if body.records() == 0 {
            // Older servers refuse an empty batch ("Input must not be empty"); nothing to send.
            return Ok(Vec::new());
        }
        let mut call = Call::new(Method::POST, format!("/rest/batch/{plural}"));
        call.query.push(("upsert", "true".into()));
        call.records = body.records();
        call.body = CallBody::Json(body.bytes().clone());
        let records = self.call(&call, parse).await?;
        bump(
            &self.inner.counters.records_confirmed,
            body.records() as u64,
        );
        debug!(
            plural,
            records = body.records(),
            bytes = body.byte_len(),
            "batch sent"
        );
        if records.len() != body.records() {
            debug!(
                plural,
                sent = body.records(),
                returned = records.len(),
                "batch answer has a different record count"
            );
        }
        Ok(records)
    }

    /// One page of `GET /rest/{plural}`.
    ///
    /// Source: `engine/api/rest/core/handlers/rest-api-find-many.handler.ts` (answer
    /// `{data: {<plural>: […]}, totalCount, pageInfo: {hasNextPage, endCursor}}`).
    pub async fn find_many(&self, plural: &str, query: &FindMany) -> Result<Page, TargetError> {
        check_name(plural)?;
        let mut call = Call::new(Method::GET, format!("/rest/{plural}"));
        if let Some(limit) = query.limit {
            call.query.push(("limit", limit.to_string()));
        }
        if let Some(cursor) = &query.starting_after {
            call.query.push(("starting_after", cursor.clone()));
        }
        if let Some(filter) = &query.filter {
            call.query.push(("filter", filter.clone()));
        }
        if let Some(order_by) = &query.order_by {
            call.query.push(("order_by", order_by.clone()));
        }
        if let Some(depth) = query.depth {
            call.query.push(("depth", depth.to_string()));
        }
        self.call(&call, parse_page).await
    }

    /// Every record matching `query`, following `endCursor` until the last page.
    pub async fn find_all(
        &self,
        plural: &str,
        query: &FindMany,
    ) -> Result<Vec<Value>, TargetError> {
        let mut query = query.clone();
        query.limit.get_or_insert(PAGE_SIZE);
        let mut records = Vec::new();
        loop {
            let page = self.find_many(plural, &query).await?;
            records.extend(page.records);
            if !page.has_next_page {
                return Ok(records);
            }
            match page.end_cursor {
                Some(cursor) if query.starting_after.as_deref() != Some(cursor.as_str()) => {
                    query.starting_after = Some(cursor);
                }
                _ => {
                    return Err(TargetError::Protocol(format!(
                        "GET /rest/{plural}: hasNextPage without a new endCursor"
                    )))
                }
            }
        }
    }

    /// The records with these ids (`filter=id[in]:["…",…]`), a few dozen ids per request.
    /// Soft-deleted records are not returned (Twenty hides them unless the filter names
    /// `deletedAt`).
    pub async fn find_by_ids(&self, plural: &str, ids: &[Uuid]) -> Result<Vec<Value>, TargetError> {
        let mut records = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            let query = FindMany {
                limit: Some(chunk.len() as u32),
                filter: Some(id_in_filter(chunk)),
                ..FindMany::default()
            };
            records.extend(self.find_all(plural, &query).await?);
        }
        Ok(records)
    }

    /// The soft-deleted records among `ids`, which a plain find leaves out:
    /// `filter=and(id[in]:[…],deletedAt[is]:NOT_NULL)` (recorded from 2.21 in
    /// `tests/conformance/twenty-2.21/`, the soft-delete exchanges).
    pub async fn find_deleted_by_ids(
        &self,
        plural: &str,
        ids: &[Uuid],
    ) -> Result<Vec<Value>, TargetError> {
        let mut records = Vec::new();
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            let query = FindMany {
                limit: Some(chunk.len() as u32),
                filter: Some(format!(
                    "and({},deletedAt[is]:NOT_NULL)",
                    id_in_filter(chunk)
                )),
                ..FindMany::default()
            };
            records.extend(self.find_all(plural, &query).await?);
        }
        Ok(records)
    }

    /// Soft-deletes one record: `DELETE /rest/{plural}/{id}?soft_delete=true` (without the
    /// parameter, newer servers destroy the row).
    ///
    /// Source: `engine/api/rest/input-request-parsers/soft-delete-parser-utils/
    /// parse-soft-delete-rest-request.util.ts` (only the exact string `true` counts).
    pub async fn soft_delete(&self, plural: &str, id: Uuid) -> Result<(), TargetError> {
        check_name(plural)?;
        let mut call = Call::new(Method::DELETE, format!("/rest/{plural}/{id}"));
        call.query.push(("soft_delete", "true".into()));
        self.call(&call, |_| Ok(())).await?;
        trace!(plural, %id, "record soft-deleted");
        Ok(())
    }

    /// Soft-deletes records by id, a few dozen per request:
    /// `DELETE /rest/{plural}?filter=id[in]:[…]&soft_delete=true`. Returns how many the target
    /// reports deleted (already soft-deleted records are not counted again). An empty `ids`
    /// sends nothing.
    ///
    /// Source: `engine/api/rest/core/services/rest-api-core.service.ts` (`delete`: no id in the
    /// path and `soft_delete=true` → `RestApiDeleteManyHandler`; without the parameter it would
    /// destroy), `rest-api-delete-many.handler.ts` (answer `{data: {delete<Plural>: [{id}]}}`).
    /// Chunks stay under `MUTATION_MAXIMUM_AFFECTED_RECORDS` (100 by default).
    pub async fn soft_delete_many(&self, plural: &str, ids: &[Uuid]) -> Result<usize, TargetError> {
        check_name(plural)?;
        let mut deleted = 0;
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            let mut call = Call::new(Method::DELETE, format!("/rest/{plural}"));
            call.query.push(("filter", id_in_filter(chunk)));
            call.query.push(("soft_delete", "true".into()));
            let records = self
                .call(&call, |b| data_list(&parse_json(b)?, "delete answer"))
                .await?;
            deleted += records.len();
        }
        debug!(plural, ids = ids.len(), deleted, "records soft-deleted");
        Ok(deleted)
    }

    /// Destroys the `plural` records `ids`, live or soft-deleted (`DELETE /rest/{plural}` with
    /// an `id[in]` filter and `soft_delete=false`; a real 2.21 answers
    /// `{"data":{"deleteCompanies":[{"id":…}]}}`, checked 2026-12-07). Returns how many the
    /// target reports.
    pub async fn destroy_many(&self, plural: &str, ids: &[Uuid]) -> Result<usize, TargetError> {
        check_name(plural)?;
        let mut destroyed = 0;
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            let mut call = Call::new(Method::DELETE, format!("/rest/{plural}"));
            call.query.push(("filter", id_in_filter(chunk)));
            call.query.push(("soft_delete", "false".into()));
            let records = self
                .call(&call, |b| data_list(&parse_json(b)?, "delete answer"))
                .await?;
            destroyed += records.len();
        }
        debug!(plural, ids = ids.len(), destroyed, "records destroyed");
        Ok(destroyed)
    }
}
