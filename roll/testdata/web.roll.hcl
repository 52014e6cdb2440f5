# A service behind an ALB listener with two target groups, one per colour.
service "web" {
  region             = "us-east-1"
  launch_template    = "web"
  instance_type      = "t3.micro"
  health_check_grace = "30s"

  capacity {
    min     = 2
    max     = 4
    desired = 2
  }

  traffic {
    listener      = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"
    target_groups = [
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-a/73e2d6bc24d8a067",
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-b/1a2b3c4d5e6f7a8b",
    ]
    # Or one target group that each colour's group is attached to in turn
    # (bluegreen and rolling only; needs health.path):
    # target_group = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067"
  }

  health {
    path         = "/health"
    status       = 200
    consecutive  = 3
    interval     = "5s"
    timeout      = "2s"
    wait_timeout = "10m"
  }

  bluegreen {
    scale_down_delay      = "5m"
    post_promotion_window = "1m"
  }

  canary {
    steps             = [10, 25, 50, 100]
    pause             = "1m"
    max_error_rate    = 0.01
    max_latency_ratio = 3
  }
}
