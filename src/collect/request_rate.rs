//! A client-side cap on how many requests per second one account's scan
//! sends, every service and region together. AWS throttles each account
//! on its own, and the account's own workloads share that quota: a
//! scanner must not be the reason a deployment is throttled. The cap sits
//! in the HTTP client, so every attempt counts, retries and paginated
//! pages included.
//!
//! Written here rather than with a rate-limiting crate: it is a few lines
//! on tokio's clock, which the tests pause to check exact send times.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_types::SdkConfig;
use tokio::time::Instant;

/// Requests are spaced `interval` apart, after a burst of `burst` sent at
/// once: the generic cell rate algorithm, in which each request reserves
/// the next slot in arrival order, so waiters are served first come,
/// first served.
#[derive(Debug)]
pub struct RequestRate {
    interval: Duration,
    /// How far ahead of the schedule a request may go: the burst.
    tolerance: Duration,
    /// When the next request is due on the schedule.
    next: Mutex<Instant>,
}

impl RequestRate {
    /// `per_second` requests a second, the first `per_second` at once.
    pub fn per_second(per_second: u32) -> RequestRate {
        let per_second = per_second.max(1);
        let interval = Duration::from_secs(1) / per_second;
        RequestRate {
            interval,
            tolerance: interval * (per_second - 1),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this request's slot.
    pub async fn acquire(&self) {
        let now = Instant::now();
        let send_at = {
            // A panic while holding the lock leaves a valid instant.
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            let due = (*next).max(now);
            *next = due + self.interval;
            due.checked_sub(self.tolerance).unwrap_or(now)
        };
        if send_at > now {
            tokio::time::sleep_until(send_at).await;
        }
    }
}

/// `config` with every request of the clients made from it sent at most
/// `per_second` a second; unchanged when the config has no HTTP client of
/// its own to wrap (the SDK then reports that no client is set).
pub fn limited(config: &SdkConfig, per_second: u32) -> SdkConfig {
    let Some(inner) = config.http_client() else {
        return config.clone();
    };
    config
        .to_builder()
        .http_client(SharedHttpClient::new(RateLimitedClient {
            inner,
            rate: Arc::new(RequestRate::per_second(per_second)),
        }))
        .build()
}

#[derive(Debug)]
struct RateLimitedClient {
    inner: SharedHttpClient,
    rate: Arc<RequestRate>,
}

impl HttpClient for RateLimitedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(RateLimitedConnector {
            inner: self.inner.http_connector(settings, components),
            rate: Arc::clone(&self.rate),
        })
    }
}

#[derive(Debug)]
struct RateLimitedConnector {
    inner: SharedHttpConnector,
    rate: Arc<RequestRate>,
}

impl HttpConnector for RateLimitedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, rate) = (self.inner.clone(), Arc::clone(&self.rate));
        HttpConnectorFuture::new(async move {
            rate.acquire().await;
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// When each of `count` requests made at once is let through, in
    /// milliseconds from the start, on tokio's paused clock.
    async fn send_times(rate: RequestRate, count: usize) -> Vec<u128> {
        let start = Instant::now();
        let rate = Arc::new(rate);
        let tasks: Vec<_> = (0..count)
            .map(|_| {
                let rate = Arc::clone(&rate);
                tokio::spawn(async move {
                    rate.acquire().await;
                    start.elapsed().as_millis()
                })
            })
            .collect();
        let mut times = Vec::new();
        for task in tasks {
            times.push(task.await.expect("task"));
        }
        times.sort_unstable();
        times
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_and_the_rest_at_the_rate() {
        assert_eq!(
            send_times(RequestRate::per_second(4), 7).await,
            [0, 0, 0, 0, 250, 500, 750]
        );
        assert_eq!(
            send_times(RequestRate::per_second(1), 3).await,
            [0, 1000, 2000]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_spell_refills_the_burst_and_no_more() {
        let rate = RequestRate::per_second(2);
        rate.acquire().await;
        rate.acquire().await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(send_times(rate, 4).await, [0, 0, 500, 1000]);
    }
}
