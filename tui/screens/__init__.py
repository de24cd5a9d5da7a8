"""Full-screen views of the explorer."""
