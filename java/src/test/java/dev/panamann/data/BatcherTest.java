package dev.panamann.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panamann.optim.UpdateThreads;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

class BatcherTest {

    /** Visits one epoch and returns the example ids (x[i, 0] = i) in visiting order. */
    static List<Integer> epoch(Batcher b, boolean shuffle, boolean dropLast) {
        List<Integer> seen = new ArrayList<>();
        b.startEpoch(shuffle, dropLast);
        while (b.nextBatch()) {
            Tensor x = b.batch();
            assertEquals(b.batchRows(), x.dim(0));
            for (int i = 0; i < b.batchRows(); i++) {
                int id = (int) x.get(i, 0);
                assertEquals(id % 7, b.y()[i], "label travels with its example");
                seen.add(id);
            }
        }
        return seen;
    }

    @Test
    void shuffledEpochVisitsEveryExampleOnce() {
        try (Dataset d = SplitsTest.ids(23); Batcher b = new Batcher(d, 5, new Rng(1))) {
            assertEquals(5, b.batchesPerEpoch(false));
            assertEquals(4, b.batchesPerEpoch(true));
            List<Integer> e1 = epoch(b, true, false), e2 = epoch(b, true, false);
            assertEquals(23, e1.size());
            List<Integer> sorted = new ArrayList<>(e1);
            sorted.sort(null);
            for (int i = 0; i < 23; i++) assertEquals(i, sorted.get(i));
            assertFalse(e1.equals(e2), "a new order each epoch");
            List<Integer> inOrder = epoch(b, false, false);
            for (int i = 0; i < 23; i++) assertEquals(i, inOrder.get(i));
            List<Integer> dropped = epoch(b, true, true);
            assertEquals(20, dropped.size());
            assertEquals(20, dropped.stream().distinct().count());
        }
        // the same seed gives the same epochs
        try (Dataset d = SplitsTest.ids(23); Batcher a = new Batcher(d, 5, new Rng(4)); Batcher b = new Batcher(d, 5, new Rng(4))) {
            assertEquals(epoch(a, true, false), epoch(b, true, false));
        }
    }

    @Test
    void horizontalFlipsMirrorAboutHalfOfTheImagesExactly() {
        // 40 images (2, 3, 4): example e holds e * 100 + c * 12 + h * 4 + w
        float[] v = new float[40 * 24];
        for (int e = 0; e < 40; e++) for (int i = 0; i < 24; i++) v[e * 24 + i] = e * 100 + i;
        int[] labels = new int[40];
        for (int e = 0; e < 40; e++) labels[e] = e % 3;
        try (Dataset d = new Dataset(Tensor.of(v, 40, 2, 3, 4), labels);
             Batcher b = new Batcher(d, 40, new Rng(5)).flipHorizontal(true)) {
            int[] order = new int[40];
            for (int i = 0; i < 40; i++) order[i] = i;
            Tensor x = b.load(order, 0, 40);
            int flipped = 0;
            for (int e = 0; e < 40; e++) {
                boolean mirrored = x.get(e, 0, 0, 0) == e * 100 + 3;
                if (mirrored) flipped++;
                for (int c = 0; c < 2; c++) for (int h = 0; h < 3; h++) for (int w = 0; w < 4; w++) {
                    float expected = e * 100 + c * 12 + h * 4 + (mirrored ? 3 - w : w);
                    assertEquals(expected, x.get(e, c, h, w), "example " + e);
                }
                assertEquals(e % 3, b.y()[e]);
            }
            assertTrue(flipped > 8 && flipped < 32, "flipped " + flipped + " of 40");
        }
        try (Dataset flat = SplitsTest.ids(4); Batcher b = new Batcher(flat, 2, new Rng(1))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.flipHorizontal(true));
            assertTrue(e.getMessage().contains("(N, C, H, W)"), e.getMessage());
        }
    }

    /**
     * A batch of over 1 MB is copied by the worker threads: every row is its example (mirrored
     * exactly where the generator drew a flip, drawn in row order), the same bytes as with one
     * thread, also for a short last batch and with a confined dataset the workers cannot read.
     */
    @Test
    void largeBatchesCopiedOnTheWorkersAreTheSameBytes() {
        int n = 300, c = 3, h = 8, w = 64; // 6 KB per example: 192 rows = 1.2 MB
        float[] v = new float[n * c * h * w];
        for (int i = 0; i < v.length; i++) v[i] = i;
        int[] labels = new int[n];
        for (int e = 0; e < n; e++) labels[e] = e % 10;
        int before = UpdateThreads.threads();
        try (Dataset d = new Dataset(Tensor.of(v, n, c, h, w), labels)) {
            assertTrue(192L * c * h * w * Float.BYTES >= Batcher.SPLIT_MIN_BYTES);
            float[][] got = new float[2][];
            for (int threads : new int[] {1, 2}) {
                UpdateThreads.setThreads(threads);
                try (Batcher b = new Batcher(d, 192, new Rng(9)).flipHorizontal(true)) {
                    b.startEpoch(true, false);
                    List<float[]> batches = new ArrayList<>();
                    while (b.nextBatch()) {
                        Tensor x = b.batch();
                        for (int i = 0; i < b.batchRows(); i++) {
                            int e = (int) x.get(i, 0, 0, 0) / (c * h * w); // the first or last value of row 0 of channel 0
                            boolean mirrored = x.get(i, 0, 0, 0) % (c * h * w) == w - 1;
                            assertEquals(e % 10, b.y()[i]);
                            for (int ch = 0; ch < c; ch++) for (int r = 0; r < h; r++) for (int col = 0; col < w; col++) {
                                float want = ((e * c + ch) * h + r) * w + (mirrored ? w - 1 - col : col);
                                if (x.get(i, ch, r, col) != want) fail("row " + i + " (example " + e + ") at " + ch + "," + r + "," + col);
                            }
                        }
                        batches.add(x.toArray());
                    }
                    assertEquals(2, batches.size(), "192 and a short batch of 108");
                    got[threads - 1] = concat(batches);
                }
            }
            assertArrayEquals(got[0], got[1], "the same batches with 1 and 2 threads");
        } finally {
            UpdateThreads.setThreads(before);
        }
        // a dataset in memory confined to this thread: copied here, not on the workers
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment seg = arena.allocate((long) v.length * Float.BYTES, 64);
            java.lang.foreign.MemorySegment.copy(v, 0, seg, java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, v.length);
            UpdateThreads.setThreads(2);
            try (Dataset d = new Dataset(Tensor.wrap(seg, n, c, h, w), labels); Batcher b = new Batcher(d, 200, new Rng(1))) {
                int[] order = new int[200];
                for (int i = 0; i < 200; i++) order[i] = 199 - i;
                Tensor x = b.load(order, 0, 200);
                for (int i = 0; i < 200; i++) assertEquals((199 - i) * c * h * w, x.get(i, 0, 0, 0));
            } finally {
                UpdateThreads.setThreads(before);
            }
        }
    }

    private static float[] concat(List<float[]> parts) {
        int len = 0;
        for (float[] p : parts) len += p.length;
        float[] all = new float[len];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    @Test
    void batchTensorsAreReused() {
        try (Dataset d = SplitsTest.ids(12); Batcher b = new Batcher(d, 5, new Rng(1))) {
            b.startEpoch(true, false);
            assertTrue(b.nextBatch());
            assertSame(b.x(), b.batch());
            b.nextBatch();
            b.nextBatch();
            Tensor shortView = b.batch();
            assertEquals(2, shortView.dim(0));
            b.startEpoch(true, false);
            while (b.nextBatch()) { /* walk */ }
            assertSame(shortView, b.batch(), "the short view is made once");
            b.sample();
            assertSame(b.x(), b.batch());
            assertEquals(5, b.batchRows());
        }
    }

    @Test
    @Tag("allocation") // depends on escape analysis: not in the unit suite, see pom.xml
    void steadyStateAllocatesNothingOnTheHeap() {
        var bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Dataset d = SplitsTest.ids(1000); Batcher b = new Batcher(d, 64, new Rng(1))) {
            for (int w = 0; w < 200; w++) {   // warm up: JIT, the order array, the short view
                b.startEpoch(true, false);
                while (b.nextBatch()) { /* walk */ }
                b.sample();
            }
            long id = Thread.currentThread().threadId();
            long before = bean.getThreadAllocatedBytes(id);
            int batches = 0;
            for (int e = 0; e < 50; e++) {
                b.startEpoch(true, false);
                while (b.nextBatch()) batches++;
                b.sample();
            }
            long bytes = bean.getThreadAllocatedBytes(id) - before;
            // a new view for each short batch (one an epoch) would be over 100 bytes each: > 5 KB
            assertTrue(bytes < 1024, bytes + " bytes allocated over " + batches + " batches");
        }
    }

    @Test
    void badIndicesAreReported() {
        try (Dataset d = SplitsTest.ids(10); Batcher b = new Batcher(d, 4, new Rng(1))) {
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> b.load(new int[] {1, 10}, 0, 2));
            assertTrue(e.getMessage().contains("10") && e.getMessage().contains("10 examples"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> b.load(new int[] {1, 2, 3, 4, 5}, 0, 5));
            assertThrows(IndexOutOfBoundsException.class, () -> b.load(new int[] {1, 2}, 1, 2));
            assertThrows(IllegalStateException.class, b::nextBatch);
            Tensor v = b.load(new int[] {3, 9}, 0, 2);
            assertArrayEquals(new float[] {3, -3, 9, -9}, v.toArray());
            assertArrayEquals(new int[] {3, 2}, Arrays.copyOf(b.y(), 2));
        }
    }
}
