"""Records -> typed rows and comparisons: grouping by cell, speed and spread, agreement,
noise, anchors, statistics. `build` makes the Summary that the report renders."""
