//! A client-side cap on how many requests per second one account's scan
//! sends, every service and region together: N a second on average, after
//! a first burst of N. AWS throttles each account
//! on its own, and the account's own workloads share that quota: a
//! scanner must not be the reason a deployment is throttled. The cap sits
//! in the HTTP client, so every attempt counts, retries and paginated
//! pages included.
//!
//! Written here rather than with a rate-limiting crate: it is a few lines
//! on tokio's clock, which the tests pause to check exact send times.

use std::sync::Arc;
use std::time::Duration;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::{Builder, ConnectorBuilder, tls};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_types::SdkConfig;
use tokio::time::Instant;

/// Requests are spaced `interval` apart, after a burst sent at once: the
/// generic cell rate algorithm. Waiters queue on a fair lock, so they are
/// served first come, first served, and the one at the head sleeps until
/// its slot holding the lock: a request given up while it waits (its
/// timeout) leaves the schedule as it was.
#[derive(Debug)]
pub struct RequestRate {
    interval: Duration,
    /// How far ahead of the schedule a request may go: the burst.
    tolerance: Duration,
    /// When the next request is due on the schedule.
    next: tokio::sync::Mutex<Instant>,
}

impl RequestRate {
    /// `per_second` requests a second, the first `per_second` at once.
    pub fn per_second(per_second: u32) -> RequestRate {
        let per_second = per_second.max(1);
        let interval = Duration::from_secs(1) / per_second;
        RequestRate {
            interval,
            tolerance: interval * (per_second - 1),
            next: tokio::sync::Mutex::new(Instant::now()),
        }
    }

    /// Waits for this request's slot.
    pub async fn acquire(&self) {
        let mut next = self.next.lock().await;
        let now = Instant::now();
        let due = (*next).max(now);
        let send_at = due.checked_sub(self.tolerance).unwrap_or(now);
        if send_at > now {
            tokio::time::sleep_until(send_at).await;
        }
        *next = due + self.interval;
    }
}

/// `config` with every request of the clients made from it sent
/// `per_second` a second, after a first burst of as many. A config loaded
/// with the defaults names no HTTP client (each SDK client then makes its
/// own); the one wrapped is then built as the SDK builds its default.
pub fn limited(config: &SdkConfig, per_second: u32) -> SdkConfig {
    let inner = config.http_client().unwrap_or_else(default_https_client);
    config
        .to_builder()
        .http_client(SharedHttpClient::new(RateLimitedClient {
            inner,
            rate: Arc::new(RequestRate::per_second(per_second)),
        }))
        .build()
}

/// What the SDK's clients use when given none: hyper over rustls with the
/// aws-lc provider, a proxy from `HTTPS_PROXY`/`NO_PROXY` as the current
/// behaviour version reads them, and the client's connect and read
/// timeouts.
fn default_https_client() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
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
    use std::sync::Mutex;

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
    async fn a_request_given_up_while_waiting_keeps_no_slot() {
        let rate = RequestRate::per_second(1);
        rate.acquire().await;
        let given_up = tokio::time::timeout(Duration::from_millis(100), rate.acquire()).await;
        assert!(given_up.is_err());
        // The next request has the slot the one given up would have had.
        assert_eq!(send_times(rate, 2).await, [900, 1900]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_spell_refills_the_burst_and_no_more() {
        let rate = RequestRate::per_second(2);
        rate.acquire().await;
        rate.acquire().await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(send_times(rate, 4).await, [0, 0, 500, 1000]);
    }

    /// An HTTP client answering every request with `GetCallerIdentity`'s
    /// response, noting when (milliseconds from `start`) each arrived.
    #[derive(Debug, Clone)]
    struct Recording {
        start: Instant,
        arrivals: Arc<Mutex<Vec<u128>>>,
    }

    impl HttpClient for Recording {
        fn http_connector(
            &self,
            _: &HttpConnectorSettings,
            _: &RuntimeComponents,
        ) -> SharedHttpConnector {
            SharedHttpConnector::new(self.clone())
        }
    }

    impl HttpConnector for Recording {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            if let Ok(mut arrivals) = self.arrivals.lock() {
                arrivals.push(self.start.elapsed().as_millis());
            }
            let body = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/audit</Arn><UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>";
            let response = aws_smithy_runtime_api::http::Response::new(
                200u16.try_into().expect("a status"),
                aws_smithy_types::body::SdkBody::from(body),
            );
            HttpConnectorFuture::ready(Ok(response))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_client_of_a_limited_config_shares_its_rate() {
        let recording = Recording {
            start: Instant::now(),
            arrivals: Arc::default(),
        };
        let config = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_types::region::Region::new("us-east-1"))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new("AKID", "secret", None, None, "test"),
                ),
            )
            .http_client(SharedHttpClient::new(recording.clone()))
            .build();
        let limited = limited(&config, 2);
        // Two clients of the config, as a scan makes one per service.
        let (first, second) = (
            aws_sdk_sts::Client::new(&limited),
            aws_sdk_sts::Client::new(&limited),
        );
        let calls = (0..3).flat_map(|_| {
            [
                first.get_caller_identity().send(),
                second.get_caller_identity().send(),
            ]
        });
        for answer in futures::future::join_all(calls).await {
            assert!(answer.is_ok(), "{answer:?}");
        }
        let mut arrivals = recording.arrivals.lock().expect("arrivals").clone();
        arrivals.sort_unstable();
        assert_eq!(arrivals, [0, 0, 500, 1000, 1500, 2000]);
    }

    #[test]
    fn a_config_loaded_without_a_client_gets_one_to_limit() {
        let bare = SdkConfig::builder().build();
        assert!(bare.http_client().is_none());
        assert!(limited(&bare, 25).http_client().is_some());
    }
}
