"""Red and black lists, the joint reward and punishment check, feedback (联合奖惩)."""
