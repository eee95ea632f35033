package dev.panamann.testutil;

import dev.panamann.tensor.Tensor;

/**
 * Smallest, largest and mean value of a tensor, for checks on real data.
 *
 * @param min  smallest value
 * @param max  largest value
 * @param mean mean, summed in double
 */
public record Summary(float min, float max, double mean) {
    public static Summary of(Tensor t) {
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        double sum = 0;
        for (float v : t.toArray()) {
            min = Math.min(min, v);
            max = Math.max(max, v);
            sum += v;
        }
        return new Summary(min, max, sum / t.size());
    }
}
