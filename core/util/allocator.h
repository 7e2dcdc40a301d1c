#pragma once

namespace Meridian {

// Tunes glibc's allocator for a process that moves large buffers (snapshot chunks of 256 KiB
// and more, replication batches): by default each such buffer is a fresh mmap, or the heap top
// is trimmed and regrown, and every byte then costs a page fault. Raising the mmap and trim
// thresholds keeps those pages in the heap for reuse; measured on snapshot transfer it halves the
// time (docs/benchmarks.md). Call once at the start of main(); a no-op on other C libraries.
void tuneAllocatorForLargeBuffers();

} // namespace Meridian
