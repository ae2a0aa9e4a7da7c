/// The configuration used when no file is given: the seed's defaults and the built-in test channel,
/// so that a fresh install serves something without a provider.
public enum DefaultConfig {
    public static let yaml = """
    server:   {listen: 0.0.0.0, port: 8085, public_base_url: ""}
    database: {path: data/sharecast.sqlite}
    shared_streaming:
      enabled: true
      buffer_path: /tmp/m3u-proxy-buffers
      max_concurrent_streams: 100
      client_timeout: 300
      monitoring:
        enabled: true
        stream_timeout: 300
        health_check_interval: 60
        stats_interval: 10
        bandwidth_threshold: 50000
        cleanup_interval: 300
        stats_retention_days: 7
    playlists: []
    channels:
      - {id: test, name: Test Pattern, group: Sharecast, urls: ["builtin:testpattern"]}
    """
}
