package dev.panamann.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Data augmentation of training images (N, C, H, W), applied on the fly as each minibatch is
 * made ({@link AugmentingLoader}): a random crop of the image padded with {@code cropPadding}
 * zeros on every side (the output keeps the H x W size: a shift by up to {@code cropPadding}
 * pixels in each direction, the uncovered border filled with 0), then a mirror left to right
 * with probability 1/2 when {@code flip} is on.
 *
 * <p>The zero padding is 0 in the data's units: after per-channel normalization
 * ({@link Preprocess#normalizeChannels}) that is each channel's training mean.
 *
 * @param cropPadding the largest shift in pixels, &gt;= 0 (0: no crop; 4 is the CIFAR-10 recipe)
 * @param flip        mirror left to right with probability 1/2
 */
public record Augmentation(int cropPadding, boolean flip) {
    /** The names {@link #parse} accepts, as the command line spells them. */
    public static final List<String> NAMES = List.of("crop", "flip", "none");

    /** The padding of {@code crop} in {@link #parse}: pad 4, crop back to the image size. */
    public static final int DEFAULT_CROP_PADDING = 4;

    public Augmentation {
        if (cropPadding < 0) throw new IllegalArgumentException("crop padding must be >= 0, got " + cropPadding);
    }

    /** No augmentation. */
    public static Augmentation none() { return new Augmentation(0, false); }

    /** Whether this changes anything. */
    public boolean isNone() { return cropPadding == 0 && !flip; }

    /**
     * From a comma-separated list: {@code crop} (random crop with padding
     * {@value #DEFAULT_CROP_PADDING}), {@code flip}, or {@code none}; e.g. {@code "crop,flip"}.
     *
     * @throws IllegalArgumentException for an unknown or empty item, naming it
     */
    public static Augmentation parse(String spec) {
        if (spec == null || spec.isBlank()) throw new IllegalArgumentException("augmentation is empty: use " + String.join(", ", NAMES));
        int pad = 0;
        boolean flip = false, none = false;
        for (String item : spec.split(",", -1)) {
            switch (item.trim().toLowerCase(Locale.ROOT)) {
                case "crop" -> pad = DEFAULT_CROP_PADDING;
                case "flip" -> flip = true;
                case "none" -> none = true;
                default -> throw new IllegalArgumentException("unknown augmentation '" + item.trim() + "' in '" + spec
                        + "': use a comma-separated list of crop, flip (or none)");
            }
        }
        if (none && (pad > 0 || flip)) throw new IllegalArgumentException("augmentation '" + spec + "' lists none with others");
        return new Augmentation(pad, flip);
    }

    /** One line, e.g. {@code crop(pad=4),flip}; stored in checkpoints. */
    public String describe() {
        List<String> parts = new ArrayList<>();
        if (cropPadding > 0) parts.add("crop(pad=" + cropPadding + ")");
        if (flip) parts.add("flip");
        return parts.isEmpty() ? "none" : String.join(",", parts);
    }
}
