import VipsBridge

// The libvips types the stages and the pipeline take, under StyleFilter's names, so a program
// using the stages needs no other import.

/// How strict decoders are (libvips `fail_on`).
public typealias FailOn = VipsBridge.FailOn
/// A resampling kernel (`resize --kernel`).
public typealias Kernel = VipsBridge.Kernel
/// What `smartcrop` looks for.
public typealias Interesting = VipsBridge.Interesting
/// Whether `thumbnail` may enlarge or shrink.
public typealias ThumbnailSize = VipsBridge.ThumbnailSize
/// Where `crop` and `pad` anchor their box.
public typealias Gravity = VipsBridge.Gravity
/// How `pad` fills new pixels.
public typealias Extend = VipsBridge.Extend
/// ICC rendering intent (`colourspace`).
public typealias Intent = VipsBridge.Intent

// The image types a custom ``Stage`` or ``PixelStage`` works on.

/// A lazy libvips image: what stages transform.
public typealias VImage = VipsBridge.VImage
/// Where an image is read from (a stage that shrinks while it loads reads it).
public typealias VSource = VipsBridge.VSource
/// Whole-image float planes, what a ``PixelStage`` processes.
public typealias PlanarRGB = VipsBridge.PlanarRGB
