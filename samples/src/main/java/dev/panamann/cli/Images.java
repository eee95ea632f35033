package dev.panamann.cli;

import dev.panamann.data.PreparedData;
import dev.panamann.tensor.Tensor;
import java.awt.Graphics2D;
import java.awt.Image;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;

/** Turns an image file into a model input the way the training data was prepared. */
public final class Images {
    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private Images() {}

    /**
     * Reads a PNG, JPEG, GIF or BMP file.
     *
     * @throws UserError when the file is missing or not an image ImageIO can read
     */
    public static BufferedImage read(Path file) throws IOException {
        Inputs.requireFile(file, "image", "IMAGE", "a PNG or JPEG file", null);
        BufferedImage img;
        try {
            img = ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) { // ImageIO's messages ("Error reading PNG image data") name no file
            throw new UserError(file + " cannot be read as an image (damaged or truncated?): " + Cli.message(e), e);
        }
        if (img == null) throw new UserError(file + " is not an image this JVM can read (PNG, JPEG, GIF or BMP)");
        return img;
    }

    /**
     * Resizes an image (area averaging when shrinking) to {@code width x height} RGB.
     *
     * @param img    any image
     * @param width  target width
     * @param height target height
     */
    public static BufferedImage resize(BufferedImage img, int width, int height) {
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
            boolean shrink = img.getWidth() > width || img.getHeight() > height;
            Image src = shrink ? img.getScaledInstance(width, height, Image.SCALE_AREA_AVERAGING) : img;
            g.drawImage(src, 0, 0, width, height, null);
        } finally {
            g.dispose();
        }
        return out;
    }

    /**
     * An image as one model input of shape (1, C, H, W) with C = 3 (RGB) or 1 (gray), prepared
     * like the training data.
     *
     * @param img        any image; resized to W x H
     * @param inputShape (C, H, W) of the model's examples, C = 1 or 3
     * @param preprocess {@link PreparedData#MEAN_IMAGE}: pixels 0..255 minus {@code mean};
     *                   {@link PreparedData#UNIT_SCALE}: pixels / 255
     * @param mean       (C, H, W) mean image for MEAN_IMAGE, else null
     * @param invert     gray only: use 255 - pixel (MNIST digits are light on dark)
     * @return a new tensor (1, C, H, W); the caller closes it
     */
    public static Tensor toInput(BufferedImage img, int[] inputShape, String preprocess, Tensor mean, boolean invert) {
        if (inputShape.length != 3 || (inputShape[0] != 1 && inputShape[0] != 3)) {
            throw new UserError("the model takes examples of shape " + Arrays.toString(inputShape) + ", not 1- or 3-channel images");
        }
        int c = inputShape[0], h = inputShape[1], w = inputShape[2];
        BufferedImage small = resize(img, w, h);
        float[] x = new float[c * h * w];
        for (int i = 0; i < h; i++) {
            for (int j = 0; j < w; j++) {
                int rgb = small.getRGB(j, i);
                int r = rgb >> 16 & 0xFF, g = rgb >> 8 & 0xFF, b = rgb & 0xFF;
                if (c == 3) {
                    x[i * w + j] = r;
                    x[h * w + i * w + j] = g;
                    x[2 * h * w + i * w + j] = b;
                } else {
                    float gray = 0.299f * r + 0.587f * g + 0.114f * b;
                    x[i * w + j] = invert ? 255f - gray : gray;
                }
            }
        }
        if (PreparedData.UNIT_SCALE.equals(preprocess)) {
            for (int k = 0; k < x.length; k++) x[k] /= 255f;
        } else if (PreparedData.MEAN_IMAGE.equals(preprocess)) {
            float[] m = mean.toArray();
            for (int k = 0; k < x.length; k++) x[k] -= m[k];
        } else {
            throw new UserError("unknown preprocessing '" + preprocess + "' in the model descriptor");
        }
        return Tensor.of(x, 1, c, h, w);
    }

    /**
     * Whether a gray image looks dark on light (mean of its border pixels above the middle),
     * i.e. needs inverting to look like MNIST.
     */
    public static boolean lightBackground(BufferedImage img) {
        long sum = 0, n = 0;
        int w = img.getWidth(), h = img.getHeight();
        for (int i = 0; i < h; i++) {
            for (int j = 0; j < w; j++) {
                if (i != 0 && j != 0 && i != h - 1 && j != w - 1) continue;
                int rgb = img.getRGB(j, i);
                sum += ((rgb >> 16 & 0xFF) + (rgb >> 8 & 0xFF) + (rgb & 0xFF)) / 3;
                n++;
            }
        }
        return n > 0 && sum / (double) n > 127.5;
    }
}
