package dev.panamann.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Tensor;
import java.lang.management.ManagementFactory;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

class AugmentingLoaderTest {
    static final int N = 20, C = 2, H = 6, W = 5;

    /** Images whose every value is distinct and nonzero: r * 1000 + c * 100 + h * 10 + w + 1. */
    static Dataset images() {
        float[] v = new float[N * C * H * W];
        int[] y = new int[N];
        int i = 0;
        for (int r = 0; r < N; r++) {
            y[r] = r % 7;
            for (int c = 0; c < C; c++) for (int h = 0; h < H; h++) for (int w = 0; w < W; w++) v[i++] = r * 1000 + c * 100 + h * 10 + w + 1;
        }
        return new Dataset(Tensor.of(v, N, C, H, W), y);
    }

    @Test
    void cropShiftsAndPadsWithZeros() {
        float[] in = {1, 2, 3, 4, 5, 6, 7, 8, 9}; // 1 x 3 x 3
        float[] out = new float[9];
        AugmentingLoader.crop(in, out, 1, 3, 3, 1, -1, false); // out[h][w] = in[h + 1][w - 1]
        assertArrayEquals(new float[] {0, 4, 5, 0, 7, 8, 0, 0, 0}, out);
        AugmentingLoader.crop(in, out, 1, 3, 3, -2, 2, false);
        assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0, 3, 0, 0}, out);
        AugmentingLoader.crop(in, out, 1, 3, 3, 0, 0, true); // plain mirror
        assertArrayEquals(new float[] {3, 2, 1, 6, 5, 4, 9, 8, 7}, out);
        AugmentingLoader.crop(in, out, 1, 3, 3, 0, 1, true); // crop then mirror: out[h][w] = in[h][(2 - w) + 1]
        assertArrayEquals(new float[] {0, 3, 2, 0, 6, 5, 0, 9, 8}, out);
        float[] two = {1, 2, 3, 4, 5, 6, 7, 8}; // 2 x 2 x 2: each channel on its own
        float[] o2 = new float[8];
        AugmentingLoader.crop(two, o2, 2, 2, 2, -1, 0, false);
        assertArrayEquals(new float[] {0, 0, 1, 2, 0, 0, 5, 6}, o2);
    }

    /**
     * Every example of every batch is one dataset image with its label, cropped at an offset
     * within the padding and maybe mirrored; over many batches every offset and both
     * orientations occur, mirrors about half the time.
     */
    @Test
    void batchesAreCroppedAndFlippedDatasetImages() {
        int pad = 2, batch = 8, batches = 150;
        try (Dataset d = images(); AugmentingLoader loader = new AugmentingLoader(d, batch, new Augmentation(pad, true), 3)) {
            Set<String> offsets = new HashSet<>();
            int mirrored = 0;
            float[] src = new float[C * H * W], expect = new float[C * H * W];
            for (int k = 0; k < batches; k++) {
                float[] x = loader.next(k).toArray();
                int[] y = loader.y();
                for (int i = 0; i < batch; i++) {
                    float[] got = java.util.Arrays.copyOfRange(x, i * src.length, (i + 1) * src.length);
                    int r = -1;
                    for (float v : got) if (v != 0) { r = (int) ((v - 1) / 1000); break; }
                    assertTrue(r >= 0, "an image is all padding");
                    assertEquals(d.y()[r], y[i], "label of example " + i + " of batch " + k);
                    System.arraycopy(d.x().toArray(), r * src.length, src, 0, src.length);
                    String found = null;
                    for (int dy = -pad; dy <= pad && found == null; dy++) {
                        for (int dx = -pad; dx <= pad && found == null; dx++) {
                            for (boolean m : new boolean[] {false, true}) {
                                AugmentingLoader.crop(src, expect, C, H, W, dy, dx, m);
                                if (java.util.Arrays.equals(expect, got)) {
                                    found = dy + "," + dx;
                                    if (m) mirrored++;
                                    break;
                                }
                            }
                        }
                    }
                    assertTrue(found != null, "example " + i + " of batch " + k + " is no crop of image " + r);
                    offsets.add(found);
                }
            }
            assertEquals((2 * pad + 1) * (2 * pad + 1), offsets.size(), "offsets seen: " + offsets);
            double share = mirrored / (double) (batch * batches);
            assertTrue(share > 0.4 && share < 0.6, "mirrored share " + share);
        }
    }

    @Test
    void noAugmentationCopiesImagesUnchanged() {
        try (Dataset d = images(); AugmentingLoader loader = new AugmentingLoader(d, 4, Augmentation.none(), 1)) {
            float[] x = loader.next(0).toArray(), all = d.x().toArray();
            int per = C * H * W;
            for (int i = 0; i < 4; i++) {
                int r = (int) ((x[i * per] - 1) / 1000);
                assertEquals(d.y()[r], loader.y()[i]);
                assertArrayEquals(java.util.Arrays.copyOfRange(all, r * per, (r + 1) * per),
                        java.util.Arrays.copyOfRange(x, i * per, (i + 1) * per));
            }
        }
    }

    /**
     * Batch k depends on the seed and k only: the same in two loaders, when the consumer is
     * slow or fast, when a loader starts (resumes) at k, or jumps around; another seed differs.
     */
    @Test
    void batchesDependOnSeedAndIterationOnly() throws InterruptedException {
        Augmentation aug = new Augmentation(2, true);
        float[][] ref = new float[12][];
        int[][] refY = new int[12][];
        try (Dataset d = images()) {
            try (AugmentingLoader a = new AugmentingLoader(d, 6, aug, 42)) {
                for (int k = 0; k < 12; k++) {
                    ref[k] = a.next(k).toArray();
                    refY[k] = a.y().clone();
                }
            }
            try (AugmentingLoader slow = new AugmentingLoader(d, 6, aug, 42)) {
                for (int k = 0; k < 12; k++) {
                    Thread.sleep(k % 3 == 0 ? 5 : 0); // the producer runs ahead or not
                    assertArrayEquals(ref[k], slow.next(k).toArray(), "batch " + k);
                    assertArrayEquals(refY[k], slow.y(), "labels " + k);
                }
            }
            try (AugmentingLoader resumed = new AugmentingLoader(d, 6, aug, 42)) {
                for (int k : new int[] {7, 8, 9, 3, 4, 11, 0}) {
                    assertArrayEquals(ref[k], resumed.next(k).toArray(), "batch " + k + " out of order");
                    assertArrayEquals(refY[k], resumed.y());
                }
            }
            try (AugmentingLoader other = new AugmentingLoader(d, 6, aug, 43)) {
                assertFalse(java.util.Arrays.equals(ref[0], other.next(0).toArray()), "another seed, other batches");
            }
        }
    }

    @Test
    void badInputsAreRejected() {
        try (Dataset d = images(); Dataset flat = d.flatten()) {
            assertThrows(IllegalArgumentException.class, () -> new AugmentingLoader(flat, 4, Augmentation.none(), 1));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new AugmentingLoader(d, 4, new Augmentation(5, false), 1));
            assertTrue(e.getMessage().contains("crop padding 5"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new AugmentingLoader(d, 0, Augmentation.none(), 1));
            assertThrows(IllegalArgumentException.class, () -> new Augmentation(-1, false));
            AugmentingLoader l = new AugmentingLoader(d, 4, Augmentation.none(), 1);
            assertThrows(IllegalArgumentException.class, () -> l.next(-1));
            l.next(0);
            l.close();
            l.close();
            assertThrows(IllegalStateException.class, () -> l.next(1), "use after close fails loudly");
        }
    }

    @Test
    void augmentationParsesTheCommandLineSpelling() {
        assertEquals(new Augmentation(4, true), Augmentation.parse("crop,flip"));
        assertEquals(new Augmentation(0, true), Augmentation.parse(" Flip "));
        assertEquals(Augmentation.none(), Augmentation.parse("none"));
        assertEquals("crop(pad=4),flip", Augmentation.parse("flip,crop").describe());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Augmentation.parse("crop,rotate"));
        assertTrue(e.getMessage().contains("'rotate'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Augmentation.parse(""));
        assertThrows(IllegalArgumentException.class, () -> Augmentation.parse("crop,"));
        assertThrows(IllegalArgumentException.class, () -> Augmentation.parse("none,flip"));
    }

    @Test
    @Tag("allocation") // depends on escape analysis: not in the unit suite, see pom.xml
    void steadyStateAllocatesNothingOnTheHeap() {
        var bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Dataset d = images(); AugmentingLoader loader = new AugmentingLoader(d, 16, new Augmentation(2, true), 5)) {
            for (int k = 0; k < 3000; k++) loader.next(k); // warm up the JIT on both threads
            long[] ids = {Thread.currentThread().threadId(), loader.producerThreadId()};
            long[] before = bean.getThreadAllocatedBytes(ids);
            for (int k = 3000; k < 4000; k++) loader.next(k);
            long[] after = bean.getThreadAllocatedBytes(ids);
            assertTrue(after[0] - before[0] < 1024, "the training thread allocated " + (after[0] - before[0]) + " bytes");
            assertTrue(after[1] - before[1] < 1024, "the producer allocated " + (after[1] - before[1]) + " bytes");
        }
    }
}
