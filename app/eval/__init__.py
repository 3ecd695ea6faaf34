"""`opsgraph eval`: every scenario through the real service path, compared with its `expect` block."""
