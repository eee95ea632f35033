package dev.panamann.io;

import dev.panamann.tensor.Tensor;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Training pictures as PNG files, drawn headless ({@code java.awt.headless=true} is set
 * unless the caller chose otherwise): the loss curve and the train/validation accuracy curves
 * (JFreeChart), and first-layer weights as an image grid (cs231n {@code visualize_grid}).
 * Files are written atomically.
 */
public final class Plots {
    /** Default chart size in pixels. */
    public static final int WIDTH = 800, HEIGHT = 500;

    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private Plots() {}

    /**
     * Training loss per iteration (light) and its moving average (dark, when there are more
     * than 50 points), like cs231n's {@code plt.plot(solver.loss_history, 'o')}.
     *
     * @param lossHistory one loss per iteration
     * @param png         the file to write
     */
    public static void lossCurve(List<Float> lossHistory, Path png) throws IOException {
        lossCurve(lossHistory, png, WIDTH, HEIGHT);
    }

    /**
     * @param lossHistory one loss per iteration
     * @param png         the file to write
     * @param width       image width in pixels
     * @param height      image height in pixels
     */
    public static void lossCurve(List<Float> lossHistory, Path png, int width, int height) throws IOException {
        XYSeries raw = new XYSeries("loss");
        for (int i = 0; i < lossHistory.size(); i++) {
            float v = lossHistory.get(i);
            if (Float.isFinite(v)) raw.add(i, v);
        }
        XYSeriesCollection data = new XYSeriesCollection(raw);
        int n = lossHistory.size();
        if (n > 50) {
            int window = Math.max(2, n / 50);
            XYSeries avg = new XYSeries("moving average (" + window + ")");
            double sum = 0;
            int count = 0;
            for (int i = 0; i < n; i++) {
                float v = lossHistory.get(i);
                if (Float.isFinite(v)) { sum += v; count++; }
                if (i >= window) {
                    float old = lossHistory.get(i - window);
                    if (Float.isFinite(old)) { sum -= old; count--; }
                }
                if (i >= window - 1 && count > 0) avg.add(i, sum / count);
            }
            data.addSeries(avg);
        }
        JFreeChart chart = ChartFactory.createXYLineChart("Training loss", "Iteration", "Loss", data,
                PlotOrientation.VERTICAL, n > 50, false, false);
        style(chart, new Color(120, 160, 220), new Color(20, 40, 140));
        write(chart, png, width, height);
    }

    /**
     * Training and validation accuracy at each accuracy check (cs231n: epoch 0, then every epoch).
     *
     * @param trainAcc train accuracy per check
     * @param valAcc   validation accuracy per check
     * @param png      the file to write
     */
    public static void accuracyCurves(List<Float> trainAcc, List<Float> valAcc, Path png) throws IOException {
        accuracyCurves(trainAcc, valAcc, png, WIDTH, HEIGHT);
    }

    /**
     * @param trainAcc train accuracy per check
     * @param valAcc   validation accuracy per check
     * @param png      the file to write
     * @param width    image width in pixels
     * @param height   image height in pixels
     */
    public static void accuracyCurves(List<Float> trainAcc, List<Float> valAcc, Path png, int width, int height)
            throws IOException {
        XYSeries train = new XYSeries("train"), val = new XYSeries("val");
        for (int i = 0; i < trainAcc.size(); i++) train.add(i, trainAcc.get(i));
        for (int i = 0; i < valAcc.size(); i++) val.add(i, valAcc.get(i));
        XYSeriesCollection data = new XYSeriesCollection(train);
        data.addSeries(val);
        JFreeChart chart = ChartFactory.createXYLineChart("Classification accuracy", "Epoch", "Accuracy", data,
                PlotOrientation.VERTICAL, true, false, false);
        style(chart, new Color(30, 90, 200), new Color(220, 110, 20));
        XYLineAndShapeRenderer r = (XYLineAndShapeRenderer) chart.getXYPlot().getRenderer();
        r.setDefaultShapesVisible(true);
        r.setSeriesStroke(0, new BasicStroke(2f));
        chart.getXYPlot().getDomainAxis().setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        write(chart, png, width, height);
    }

    /**
     * Accuracy against wall time, one line per run (e.g. one model at several widths): the
     * picture of "best model per wall-clock minute".
     *
     * @param runs the points of each run by its name, in legend order: {@code {minutes, accuracy}}
     *             per point, in time order
     * @param png  the file to write
     * @throws IllegalArgumentException naming the run when a point is not two finite numbers
     */
    public static void accuracyOverTime(Map<String, double[][]> runs, Path png) throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        for (Map.Entry<String, double[][]> run : runs.entrySet()) {
            XYSeries s = new XYSeries(run.getKey(), false);
            for (double[] p : run.getValue()) {
                if (p.length != 2 || !Double.isFinite(p[0]) || !Double.isFinite(p[1])) {
                    throw new IllegalArgumentException("accuracyOverTime: run '" + run.getKey() + "' has a point that is not "
                            + "{minutes, accuracy}: " + Arrays.toString(p));
                }
                s.add(p[0], p[1]);
            }
            data.addSeries(s);
        }
        JFreeChart chart = ChartFactory.createXYLineChart("Test accuracy against wall time", "Wall time (minutes)", "Accuracy",
                data, PlotOrientation.VERTICAL, true, false, false);
        style(chart, new Color(30, 90, 200), new Color(220, 110, 20));
        XYLineAndShapeRenderer r = (XYLineAndShapeRenderer) chart.getXYPlot().getRenderer();
        r.setDefaultShapesVisible(true);
        write(chart, png, WIDTH, HEIGHT);
    }

    private static void style(JFreeChart chart, Color first, Color second) {
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, false);
        r.setSeriesPaint(0, first);
        r.setSeriesPaint(1, second);
        r.setSeriesStroke(0, new BasicStroke(1.2f));
        r.setSeriesStroke(1, new BasicStroke(2f));
        plot.setRenderer(r);
        chart.setBackgroundPaint(Color.WHITE);
    }

    private static void write(JFreeChart chart, Path png, int width, int height) throws IOException {
        if (width < 1 || height < 1) throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        AtomicFiles.writeStream(png, out -> ChartUtils.writeChartAsPNG(out, chart, width, height));
    }

    // ------------------------------------------------------------------ weight grid

    /**
     * Convolution filters as an image grid (padding 1, no scaling).
     *
     * @param w   filters, (F, C, H, W) with C = 1 (gray) or 3 (RGB)
     * @param png the file to write
     */
    public static void weightGrid(Tensor w, Path png) throws IOException {
        writeImage(gridImage(w, null, 1, 1), png);
    }

    /**
     * First-layer weights of a fully connected net as an image grid: column f of {@code w}
     * is one filter, laid out as {@code imageShape}.
     *
     * @param w          weights, (D, F) with D = C*H*W, each column in (C, H, W) order
     * @param imageShape (C, H, W) with C = 1 or 3
     * @param png        the file to write
     */
    public static void weightGrid(Tensor w, int[] imageShape, Path png) throws IOException {
        writeImage(gridImage(w, imageShape, 1, 1), png);
    }

    /**
     * @param w          (F, C, H, W) filters when {@code imageShape} is null, else (D, F) weights
     * @param imageShape null, or (C, H, W) for (D, F) weights
     * @param padding    pixels between filters (black), &gt;= 0
     * @param scale      each weight becomes a scale x scale block, &gt;= 1
     * @param png        the file to write
     */
    public static void weightGrid(Tensor w, int[] imageShape, int padding, int scale, Path png) throws IOException {
        writeImage(gridImage(w, imageShape, padding, scale), png);
    }

    /**
     * The grid of cs231n {@code visualize_grid}: filters in a ceil(sqrt(F)) square, row by row,
     * each normalized on its own to 0..255 ({@code 255 * (x - min) / (max - min)}, truncated;
     * a constant filter is all at its maximum, so white), separated by {@code padding} black
     * pixels; C = 3 gives an RGB image, C = 1 a gray one.
     *
     * @param w          (F, C, H, W) filters when {@code imageShape} is null, else (D, F) weights
     * @param imageShape null, or (C, H, W) for (D, F) weights
     * @param padding    pixels between filters, &gt;= 0
     * @param scale      each weight becomes a scale x scale block, &gt;= 1
     * @return the image, of size (g*W + (g-1)*padding) * scale by (g*H + (g-1)*padding) * scale
     */
    public static BufferedImage gridImage(Tensor w, int[] imageShape, int padding, int scale) {
        w.checkOpen();
        if (padding < 0 || scale < 1) throw new IllegalArgumentException("padding must be >= 0 and scale >= 1, got " + padding + ", " + scale);
        int f, c, h, wd;
        boolean columns = imageShape != null;
        if (!columns) {
            if (w.rank() != 4) {
                throw new IllegalArgumentException("weight grid: expected filters of shape (F, C, H, W) but got " + w.shapeString()
                        + "; for (D, F) weights pass the image shape (C, H, W)");
            }
            f = w.dim(0);
            c = w.dim(1);
            h = w.dim(2);
            wd = w.dim(3);
        } else {
            if (imageShape.length != 3) {
                throw new IllegalArgumentException("weight grid: image shape must be (C, H, W), got " + Arrays.toString(imageShape));
            }
            c = imageShape[0];
            h = imageShape[1];
            wd = imageShape[2];
            if (w.rank() != 2 || (long) c * h * wd != w.dim(0)) {
                throw new IllegalArgumentException("weight grid: expected weights of shape (" + (long) c * h * wd + ", F) for images "
                        + Arrays.toString(imageShape) + " but got " + w.shapeString());
            }
            f = w.dim(1);
        }
        if (c != 1 && c != 3) {
            throw new IllegalArgumentException("weight grid: filters need 1 (gray) or 3 (RGB) channels, got " + c + " (shape "
                    + w.shapeString() + ")");
        }
        if (f == 0 || h == 0 || wd == 0) throw new IllegalArgumentException("weight grid: no filters in " + w.shapeString());
        int g = (int) Math.ceil(Math.sqrt(f));
        int gh = (h * g + padding * (g - 1)) * scale, gw = (wd * g + padding * (g - 1)) * scale;
        BufferedImage img = new BufferedImage(gw, gh, c == 3 ? BufferedImage.TYPE_INT_RGB : BufferedImage.TYPE_BYTE_GRAY);
        WritableRaster raster = img.getRaster();
        int per = c * h * wd;
        float[] all = w.toArray();
        float[] filter = new float[per];
        int[] px = new int[c];
        for (int k = 0; k < f; k++) {
            // gather filter k in (C, H, W) order
            for (int i = 0; i < per; i++) filter[i] = columns ? all[i * f + k] : all[k * per + i];
            float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
            for (float v : filter) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            int y0 = (k / g) * (h + padding) * scale, x0 = (k % g) * (wd + padding) * scale;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < wd; x++) {
                    for (int ch = 0; ch < c; ch++) {
                        float v = filter[(ch * h + y) * wd + x];
                        px[ch] = hi > lo ? Math.min(255, Math.max(0, (int) (255.0 * (v - lo) / (hi - lo)))) : 255;
                    }
                    for (int sy = 0; sy < scale; sy++) {
                        for (int sx = 0; sx < scale; sx++) raster.setPixel(x0 + x * scale + sx, y0 + y * scale + sy, px);
                    }
                }
            }
        }
        return img;
    }

    /** Writes an image as PNG, atomically. */
    public static void writeImage(BufferedImage img, Path png) throws IOException {
        AtomicFiles.writeStream(png, out -> {
            if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer available");
        });
    }
}
