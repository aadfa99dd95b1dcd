//! CloudWatch Logs with the AWS SDK: the restore drills' evidence ([`crate::port::DrillRecords`]):
//! `CreateLogStream` and `PutLogEvents` to append, `FilterLogEvents` (every page) to read.

use super::error::map_err;
use crate::port::StoreResult;

pub struct LogRecords {
    client: aws_sdk_cloudwatchlogs::Client,
}

impl LogRecords {
    pub fn new(client: aws_sdk_cloudwatchlogs::Client) -> Self {
        LogRecords { client }
    }

    pub async fn append(&self, group: &str, stream: &str, record: &str) -> StoreResult<()> {
        use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
        use aws_sdk_cloudwatchlogs::types::InputLogEvent;
        match self
            .client
            .create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send()
            .await
        {
            Ok(_) => {}
            // a stream of the day is made by its first drill
            Err(e) if e.code() == Some("ResourceAlreadyExistsException") => {}
            Err(e) => return Err(map_err("CreateLogStream", e)),
        }
        let event = InputLogEvent::builder()
            .timestamp(chrono::Utc::now().timestamp_millis())
            .message(record)
            .build()
            .expect("an event with its two required fields, timestamp and message");
        self.client
            .put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .log_events(event)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_err("PutLogEvents", e))
    }

    pub async fn read(&self, group: &str) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .filter_log_events()
            .log_group_name(group)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_err("FilterLogEvents", e))?;
            let mut events: Vec<(i64, String)> = page
                .events()
                .iter()
                .map(|e| {
                    (
                        e.timestamp().unwrap_or(0),
                        e.message().unwrap_or("").to_string(),
                    )
                })
                .collect();
            events.sort_by_key(|(t, _)| *t);
            out.extend(events.into_iter().map(|(_, m)| m));
        }
        Ok(out)
    }
}
