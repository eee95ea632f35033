package dev.panamann.data;

import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;

/**
 * Small seeded 2-D classification problems for trying models and plotting decision
 * boundaries. Each returns a {@link Dataset} with x of shape (N, 2) and y the class of each
 * point; the same seed gives the same data.
 */
public final class ToyData {
    private ToyData() {}

    /**
     * The spiral of the cs231n notes ("Putting it together: minimal neural network case
     * study"), with its noise 0.2: for class j, {@code pointsPerClass} points with radius
     * {@code r = linspace(0, 1)} and angle {@code t = linspace(4j, 4(j+1)) + 0.2 * randn}, at
     * {@code (r sin t, r cos t)}. Points are stored class by class.
     *
     * @param pointsPerClass points of each class (N_c >= 1)
     * @param classes        number of arms / classes (K >= 1)
     * @param rng            seeded generator for the angle noise
     * @return x (N_c * K, 2), y N_c * K labels: N_c of each class 0..K-1
     */
    public static Dataset spiral(int pointsPerClass, int classes, Rng rng) {
        return spiral(pointsPerClass, classes, 0.2, rng);
    }

    /**
     * The cs231n spiral with a chosen angle noise.
     *
     * @param pointsPerClass points of each class (N_c >= 1)
     * @param classes        number of arms / classes (K >= 1)
     * @param noise          standard deviation of the Gaussian noise added to each angle (>= 0)
     * @param rng            seeded generator for the noise
     * @return x (N_c * K, 2), y N_c * K labels
     */
    public static Dataset spiral(int pointsPerClass, int classes, double noise, Rng rng) {
        if (pointsPerClass < 1 || classes < 1) {
            throw new IllegalArgumentException("spiral needs >= 1 point per class and >= 1 class, got "
                    + pointsPerClass + " points, " + classes + " classes");
        }
        if (!(noise >= 0)) throw new IllegalArgumentException("noise must be >= 0, got " + noise);
        int n = Math.multiplyExact(pointsPerClass, classes);
        float[] x = new float[2 * n];
        int[] y = new int[n];
        for (int j = 0; j < classes; j++) {
            for (int i = 0; i < pointsPerClass; i++) {
                double r = linspace(0, 1, pointsPerClass, i);
                double t = linspace(4.0 * j, 4.0 * (j + 1), pointsPerClass, i) + rng.nextGaussian() * noise;
                int p = j * pointsPerClass + i;
                x[2 * p] = (float) (r * Math.sin(t));
                x[2 * p + 1] = (float) (r * Math.cos(t));
                y[p] = j;
            }
        }
        return new Dataset(Tensor.of(x, n, 2), y);
    }

    /**
     * Two classes split by a sine curve: {@code x0} uniform in [-pi, pi], {@code x1} uniform in
     * [-2, 2]; the label is 1 when {@code x1 > sin(x0)} and 0 otherwise. Then Gaussian noise
     * of standard deviation {@code noise} is added to both coordinates (after labelling), so
     * that the classes overlap near the curve. The classes are about equally large (the
     * areas above and below the curve in the box are equal).
     *
     * @param n     number of points (>= 1)
     * @param noise standard deviation of the noise added to each coordinate (>= 0; 0 gives a clean boundary)
     * @param rng   seeded generator
     * @return x (n, 2), y n labels 0 (below) or 1 (above)
     */
    public static Dataset noisySine(int n, double noise, Rng rng) {
        if (n < 1) throw new IllegalArgumentException("noisySine needs n >= 1, got " + n);
        if (!(noise >= 0)) throw new IllegalArgumentException("noise must be >= 0, got " + noise);
        float[] x = new float[2 * n];
        int[] y = new int[n];
        for (int p = 0; p < n; p++) {
            double x0 = Math.PI * (2 * rng.nextDouble() - 1);
            double x1 = 2 * (2 * rng.nextDouble() - 1);
            y[p] = x1 > Math.sin(x0) ? 1 : 0;
            x[2 * p] = (float) (x0 + noise * rng.nextGaussian());
            x[2 * p + 1] = (float) (x1 + noise * rng.nextGaussian());
        }
        return new Dataset(Tensor.of(x, n, 2), y);
    }

    /** Element i of numpy's {@code linspace(a, b, n)} (endpoint included). */
    private static double linspace(double a, double b, int n, int i) {
        return n == 1 ? a : a + (b - a) * i / (n - 1);
    }
}
