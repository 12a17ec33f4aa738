//! The store switched off: batches are parsed, validated and queued as usual, then dropped.
//! Only for measuring the ingest path's ceiling (`--store discard:`, scripts/bench-ingest.sh);
//! nothing is kept and every statistic reads empty.

use std::io::Write;
use std::path::Path;

use super::{ActiveCounts, LeaderLock, Store, StoreError, StoreOutcome, VitalRows};
use crate::alerts::model::{Alert, Silence};
use crate::backend_stats::{AiCallRow, ApiCallRow};
use crate::call_rollup::{AiDimension, AiSeries, ApiDimension, ApiSeries};
use crate::host_history::{HostPoint, SeriesRollup};
use crate::normalize::Batch;
use crate::rollup::{DirtyBucket, RawMinute, Rollup, RollupLock, Tier};
use crate::session_stats::SessionPoint;

/// A store that keeps nothing.
#[derive(Debug, Default)]
pub struct DiscardStore;

impl Store for DiscardStore {
    fn kind(&self) -> &'static str {
        "discard"
    }

    fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(0)
    }

    fn write_group(&self, batches: &[&Batch]) -> Result<Vec<StoreOutcome>, StoreError> {
        Ok(batches
            .iter()
            .map(|batch| StoreOutcome {
                stored: batch.len(),
            })
            .collect())
    }

    fn scan_api_calls(
        &self,
        _since_ms: i64,
        _until_ms: i64,
        _each: &mut dyn FnMut(ApiCallRow),
    ) -> Result<(), StoreError> {
        Ok(())
    }

    fn dirty_in(
        &self,
        _tier: Tier,
        _from_ms: i64,
        _to_ms: i64,
    ) -> Result<std::collections::BTreeSet<i64>, StoreError> {
        Ok(Default::default())
    }

    fn read_call_rollups(
        &self,
        _tier: Tier,
        _from_ms: i64,
        _to_ms: i64,
        _api: &[ApiDimension],
        _ai: &[AiDimension],
    ) -> Result<(Vec<ApiSeries>, Vec<AiSeries>), StoreError> {
        Ok((Vec::new(), Vec::new()))
    }

    fn scan_timings(
        &self,
        _since_ms: i64,
        _until_ms: i64,
        _each: &mut dyn FnMut(super::TimingRow),
    ) -> Result<(), StoreError> {
        Ok(())
    }

    fn scan_errors(
        &self,
        _since_ms: i64,
        _until_ms: i64,
        _each: &mut dyn FnMut(super::ErrorRow),
    ) -> Result<(), StoreError> {
        Ok(())
    }

    fn error_samples(&self, _ids: &[i64]) -> Result<Vec<super::ErrorSample>, StoreError> {
        Ok(Vec::new())
    }

    fn scan_sessions(
        &self,
        _since_ms: i64,
        _until_ms: i64,
        _each: &mut dyn FnMut(SessionPoint),
    ) -> Result<(), StoreError> {
        Ok(())
    }

    fn active_users(&self, _since_ms: i64) -> Result<ActiveCounts, StoreError> {
        Ok(ActiveCounts::default())
    }

    fn scan_ai_calls(
        &self,
        _since_ms: i64,
        _until_ms: i64,
        _each: &mut dyn FnMut(AiCallRow),
    ) -> Result<(), StoreError> {
        Ok(())
    }

    fn vital_rows(
        &self,
        _since_ms: i64,
        _until_ms: i64,
        _max_samples: usize,
    ) -> Result<Option<VitalRows>, StoreError> {
        Ok(Some(VitalRows::default()))
    }

    fn export(&self, _from_ms: i64, _to_ms: i64, _out: &mut dyn Write) -> Result<u64, StoreError> {
        Ok(0)
    }

    fn prune(&self, _before_ms: i64, _limit: usize) -> Result<usize, StoreError> {
        Ok(0)
    }

    fn write_host_point(&self, _host: &str, _point: &HostPoint) -> Result<(), StoreError> {
        Ok(())
    }

    fn host_points(&self, _host: &str, _from: i64, _to: i64) -> Result<Vec<HostPoint>, StoreError> {
        Ok(Vec::new())
    }

    fn write_host_rollup(
        &self,
        _host: &str,
        _hour: i64,
        _rollups: &[SeriesRollup],
    ) -> Result<(), StoreError> {
        Ok(())
    }

    fn host_rollups(
        &self,
        _host: &str,
        _from: i64,
        _to: i64,
    ) -> Result<Vec<(i64, Vec<SeriesRollup>)>, StoreError> {
        Ok(Vec::new())
    }

    fn try_lock_rollups(&self) -> Result<Option<RollupLock>, StoreError> {
        Ok(Some(Box::new(())))
    }

    fn try_lock_alerts(&self) -> Result<Option<Box<dyn LeaderLock>>, StoreError> {
        Ok(Some(Box::new(())))
    }

    fn erase_user(&self, _user_id: &str) -> Result<u64, StoreError> {
        Ok(0)
    }

    fn erasure_generation(&self) -> Result<i64, StoreError> {
        Ok(0)
    }

    fn write_audit(&self, _entry: &super::AuditEntry) -> Result<(), StoreError> {
        Ok(())
    }

    fn read_audit(
        &self,
        _since_ms: i64,
        _limit: usize,
    ) -> Result<Vec<super::AuditEntry>, StoreError> {
        Ok(Vec::new())
    }

    fn host_names(&self, _since_ms: i64) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    fn write_alerts(
        &self,
        _alerts: &[Alert],
        _abandoned: &[(String, i64)],
        _now_ms: i64,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    fn read_alerts(&self, _since_ms: i64, _limit: usize) -> Result<Vec<Alert>, StoreError> {
        Ok(Vec::new())
    }

    fn write_silence(&self, _silence: &Silence) -> Result<(), StoreError> {
        Ok(())
    }

    fn expire_silence(&self, _id: &str, _at_ms: i64) -> Result<bool, StoreError> {
        Ok(false)
    }

    fn silences(&self, _after_ms: i64) -> Result<Vec<Silence>, StoreError> {
        Ok(Vec::new())
    }

    fn dirty_buckets(&self, _tier: Tier, _limit: usize) -> Result<Vec<DirtyBucket>, StoreError> {
        Ok(Vec::new())
    }

    fn raw_minute(&self, _from_ms: i64, _to_ms: i64) -> Result<RawMinute, StoreError> {
        Ok(RawMinute::default())
    }

    fn read_rollups(&self, _tier: Tier, _from: i64, _to: i64) -> Result<Rollup, StoreError> {
        Ok(Rollup::default())
    }

    fn replace_rollup(
        &self,
        _dirty: &DirtyBucket,
        _rollup: Option<&Rollup>,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    fn prune_rollups(&self, _tier: Tier, _before: i64, _limit: usize) -> Result<usize, StoreError> {
        Ok(0)
    }

    fn backup(&self, _to: &Path) -> Result<(), StoreError> {
        Err(StoreError::Unsupported(
            "the discard store keeps nothing to back up",
        ))
    }
}
