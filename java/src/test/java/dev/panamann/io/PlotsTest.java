package dev.panamann.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlotsTest {
    @TempDir
    Path dir;

    static BufferedImage readPng(Path f) throws IOException {
        byte[] head = new byte[8];
        System.arraycopy(Files.readAllBytes(f), 0, head, 0, 8);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, head, "PNG signature");
        BufferedImage img = ImageIO.read(f.toFile());
        assertNotNull(img, f + " is not a readable image");
        return img;
    }

    @Test
    void lossAndAccuracyCurvesArePngsOfTheRequestedSize() throws IOException {
        List<Float> loss = new ArrayList<>();
        for (int i = 0; i < 300; i++) loss.add((float) (2.3 * Math.exp(-i / 100.0) + 0.1 * Math.sin(i)));
        loss.set(17, Float.NaN); // a diverged step must not break the plot
        Path l = dir.resolve("plots/loss.png");
        Plots.lossCurve(loss, l);
        BufferedImage li = readPng(l);
        assertEquals(Plots.WIDTH, li.getWidth());
        assertEquals(Plots.HEIGHT, li.getHeight());
        assertTrue(distinctColours(li) > 3, "the chart draws something");

        Path a = dir.resolve("acc.png");
        Plots.accuracyCurves(List.of(0.1f, 0.4f, 0.6f), List.of(0.1f, 0.35f, 0.5f), a, 640, 480);
        BufferedImage ai = readPng(a);
        assertEquals(640, ai.getWidth());
        assertEquals(480, ai.getHeight());
    }

    @Test
    void accuracyOverTimeDrawsOneLinePerRunAndRejectsBadPoints() throws IOException {
        Path a = dir.resolve("time.png");
        java.util.Map<String, double[][]> runs = new java.util.LinkedHashMap<>();
        runs.put("width 16", new double[][] {{1.3, 0.52}, {2.7, 0.64}, {4.0, 0.70}});
        runs.put("width 8", new double[][] {{0.5, 0.45}, {1.0, 0.58}});
        Plots.accuracyOverTime(runs, a);
        BufferedImage img = readPng(a);
        assertEquals(Plots.WIDTH, img.getWidth());
        assertTrue(distinctColours(img) > 3, "the chart draws something");
        runs.put("bad", new double[][] {{1.0, Double.NaN}});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Plots.accuracyOverTime(runs, a));
        assertTrue(e.getMessage().contains("'bad'"), e.getMessage());
    }

    static int distinctColours(BufferedImage img) {
        java.util.Set<Integer> s = new java.util.HashSet<>();
        for (int y = 0; y < img.getHeight(); y += 3) for (int x = 0; x < img.getWidth(); x += 3) s.add(img.getRGB(x, y));
        return s.size();
    }

    /** Gray 2x2 filters; filter 1 is constant (white), filter 0 has one max and one min pixel. */
    @Test
    void grayGridNormalizesEachFilterAndPadsWithBlack() throws IOException {
        int f = 5, h = 2, w = 3;
        try (Tensor t = Tensor.zeros(f, 1, h, w)) {
            for (int k = 0; k < f; k++) for (int i = 0; i < h * w; i++) t.setFlat(k * h * w + i, 0.5f * k + 0.01f * i);
            // filter 0: min at (0,0), max at (1,2), a middle value at (0,1)
            float[] f0 = {-3f, 0f, 1f, 1f, 1f, 7f};
            for (int i = 0; i < 6; i++) t.setFlat(i, f0[i]);
            for (int i = 0; i < h * w; i++) t.setFlat(h * w + i, 9f); // filter 1: constant
            Path p = dir.resolve("gray.png");
            Plots.weightGrid(t, null, 1, 2, p);
            BufferedImage img = readPng(p);
            int g = 3; // ceil(sqrt(5))
            assertEquals((w * g + (g - 1)) * 2, img.getWidth());
            assertEquals((h * g + (g - 1)) * 2, img.getHeight());
            assertEquals(1, img.getRaster().getNumBands(), "gray");
            assertEquals(0, gray(img, 0, 0), "min of filter 0 is black");
            assertEquals(255, gray(img, 2 * 2 + 1, 1 * 2 + 1), "max of filter 0 is white");
            assertEquals((int) (255.0 * 3 / 10), gray(img, 1 * 2, 0), "0 maps to 255*(0-(-3))/10");
            // filter 1 starts at x = (w + 1) * 2
            for (int y = 0; y < h * 2; y++) for (int x = 0; x < w * 2; x++) assertEquals(255, gray(img, 8 + x, y), "constant filter is white");
            // padding column between filters 0 and 1, and the empty last cells, are black
            assertEquals(0, gray(img, 6, 0));
            assertEquals(0, gray(img, img.getWidth() - 1, img.getHeight() - 1));
        }
    }

    static int gray(BufferedImage img, int x, int y) { return img.getRaster().getSample(x, y, 0); }

    /** (D, F) weights with image shape (3, H, W): channel c of a pixel comes from row (c*H + y)*W + x. */
    @Test
    void rgbGridFromColumnsOfAFullyConnectedLayer() throws IOException {
        int c = 3, h = 4, w = 4, f = 4, d = c * h * w;
        try (Tensor t = Tensor.zeros(d, f)) {
            // filter 2: red channel at max everywhere, others at min; plus one all-max pixel in green
            for (int i = 0; i < d; i++) t.set(i < h * w ? 1f : -1f, i, 2);
            for (int i = 0; i < d; i++) t.set(0.001f * i, i, 0);
            Path p = dir.resolve("rgb.png");
            Plots.weightGrid(t, new int[] {c, h, w}, p);
            BufferedImage img = readPng(p);
            assertEquals(2 * w + 1, img.getWidth());
            assertEquals(2 * h + 1, img.getHeight());
            int x0 = 0, y0 = h + 1; // filter 2 is at grid row 1, column 0
            assertEquals(0xFF0000, img.getRGB(x0 + 1, y0 + 2) & 0xFFFFFF, "pure red");
            // filter 0: a ramp over (C,H,W): the first element black, the last white
            assertEquals(0, img.getRGB(0, 0) & 0xFF0000, "red of pixel (0,0) is the filter's min");
            assertEquals(0xFF, img.getRGB(w - 1, h - 1) & 0xFF, "blue of the last pixel is the filter's max");
        }
    }

    @Test
    void badShapesAreRejected() {
        try (Tensor four = Tensor.zeros(2, 4, 3, 3); Tensor fc = Tensor.zeros(10, 3)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Plots.gridImage(four, null, 1, 1));
            assertTrue(e.getMessage().contains("1 (gray) or 3 (RGB)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Plots.gridImage(fc, null, 1, 1));
            assertTrue(e.getMessage().contains("(F, C, H, W)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Plots.gridImage(fc, new int[] {3, 2, 2}, 1, 1));
            assertTrue(e.getMessage().contains("(12, F)") && e.getMessage().contains("[10, 3]"), e.getMessage());
        }
    }
}
