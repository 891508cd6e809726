import type { ReactNode } from 'react';

/**
 * The app's icons: inline SVG drawn on a 24-unit grid with `currentColor` strokes, so they take
 * the text's color and size and render the same on every machine (emoji need an emoji font,
 * which many Linux desktops and containers lack). Decorative: the button or label around an
 * icon carries its name.
 */
function Svg({ children, size = 18 }: { children: ReactNode; size?: number }) {
  return (
    <svg
      className="icon"
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth={2}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      {children}
    </svg>
  );
}

type IconProps = { size?: number };

export const MenuIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="M4 6h16M4 12h16M4 18h16" />
  </Svg>
);

export const CloseIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="M18 6 6 18M6 6l12 12" />
  </Svg>
);

export const BellIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
    <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
  </Svg>
);

export const PaperclipIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="m21.44 11.05-9.19 9.19a6 6 0 0 1-8.49-8.49l8.57-8.57A4 4 0 1 1 18 8.84l-8.59 8.57a2 2 0 0 1-2.83-2.83l8.49-8.48" />
  </Svg>
);

export const LockIcon = (p: IconProps) => (
  <Svg {...p}>
    <rect x="4" y="11" width="16" height="10" rx="2" />
    <path d="M8 11V7a4 4 0 0 1 8 0v4" />
  </Svg>
);

export const TrashIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="M3 6h18M19 6v14a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2V6M8 6V4a2 2 0 0 1 2-2h4a2 2 0 0 1 2 2v2M10 11v6M14 11v6" />
  </Svg>
);

export const PencilIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="M17 3a2.85 2.85 0 1 1 4 4L7.5 20.5 2 22l1.5-5.5Z" />
  </Svg>
);

export const CheckIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="M20 6 9 17l-5-5" />
  </Svg>
);

export const ArchiveIcon = (p: IconProps) => (
  <Svg {...p}>
    <rect x="2" y="3" width="20" height="5" rx="1" />
    <path d="M4 8v11a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8M10 12h4" />
  </Svg>
);

export const SendIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="m22 2-7 20-4-9-9-4Z" />
    <path d="M22 2 11 13" />
  </Svg>
);

export const MoreIcon = (p: IconProps) => (
  <Svg {...p}>
    <circle cx="5" cy="12" r="1.3" fill="currentColor" />
    <circle cx="12" cy="12" r="1.3" fill="currentColor" />
    <circle cx="19" cy="12" r="1.3" fill="currentColor" />
  </Svg>
);

export const ArrowDownIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="M12 5v14M19 12l-7 7-7-7" />
  </Svg>
);

export const PlusIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="M12 5v14M5 12h14" />
  </Svg>
);

export const SignOutIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9" />
  </Svg>
);

export const ClockIcon = (p: IconProps) => (
  <Svg {...p}>
    <circle cx="12" cy="12" r="9" />
    <path d="M12 7v5l3 2" />
  </Svg>
);

export const StopIcon = (p: IconProps) => (
  <Svg {...p}>
    <rect x="6" y="6" width="12" height="12" rx="2" fill="currentColor" />
  </Svg>
);

export const AlertIcon = (p: IconProps) => (
  <Svg {...p}>
    <circle cx="12" cy="12" r="9" />
    <path d="M12 8v4M12 16h.01" />
  </Svg>
);

export const WifiOffIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="M2 2l20 20M8.5 16.5a5 5 0 0 1 7 0M2 8.82a15 15 0 0 1 4.17-2.65M10.66 5c4.01-.36 8.14.9 11.34 3.76M16.85 11.25a10 10 0 0 1 2.22 1.68M5 13a10 10 0 0 1 5.24-2.76M12 20h.01" />
  </Svg>
);

export const SpinnerIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="M21 12a9 9 0 1 1-6.22-8.56" />
  </Svg>
);

export const UserPlusIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2" />
    <circle cx="9" cy="7" r="4" />
    <path d="M19 8v6M22 11h-6" />
  </Svg>
);

export const CompassIcon = (p: IconProps) => (
  <Svg {...p}>
    <circle cx="12" cy="12" r="9" />
    <path d="m16.24 7.76-2.12 6.36-6.36 2.12 2.12-6.36z" />
  </Svg>
);

export const ImageIcon = (p: IconProps) => (
  <Svg {...p}>
    <rect x="3" y="3" width="18" height="18" rx="2" />
    <circle cx="9" cy="9" r="2" />
    <path d="m21 15-3.09-3.09a2 2 0 0 0-2.82 0L6 21" />
  </Svg>
);

export const SettingsIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="M4 21v-7M4 10V3M12 21v-9M12 8V3M20 21v-5M20 12V3M1 14h6M9 8h6M17 16h6" />
  </Svg>
);

/**
 * The quick reactions drawn as pictures: where no emoji font is installed (many Linux machines)
 * their characters show as empty boxes. Other emoji are shown as text.
 */
const emojiArt: Record<string, ReactNode> = {
  '👍': (
    <>
      <rect x="3" y="16" width="7" height="17" rx="1.5" fill="#5d9cec" />
      <path
        d="M11 17.5 15 6.8c.9-2.6 4.9-2.2 5.2.6.2 2-.3 5.2-1.2 8.6h9.3a2.6 2.6 0 0 1 0 5.2h-.6a2.6 2.6 0 0 1 0 5.2h-.6a2.5 2.5 0 0 1 0 5h-1.3a2.3 2.3 0 0 1 0 4.6H14a3 3 0 0 1-3-3Z"
        fill="#ffcc4d"
        stroke="#c97c1d"
        strokeWidth="1.3"
        strokeLinejoin="round"
      />
    </>
  ),
  '❤️': (
    <path
      d="M18 32C8 25 2 19.5 2 12a8.5 8.5 0 0 1 16-4.3A8.5 8.5 0 0 1 34 12c0 7.5-6 13-16 20Z"
      fill="#dd2e44"
    />
  ),
  '😂': (
    <>
      <circle cx="18" cy="18" r="16" fill="#ffcc4d" />
      <path
        d="M9 14.5q3-4 6.5 0M20.5 14.5q3.5-4 6.5 0"
        fill="none"
        stroke="#664500"
        strokeWidth="2"
        strokeLinecap="round"
      />
      <path d="M8.5 19.5h19a9.5 9.5 0 0 1-19 0Z" fill="#664500" />
      <path d="M10 19.5h16v1.8H10Z" fill="#fff" />
      <path
        d="M5.5 14c-3 3.5-4 7.5-1.2 8.6 2.8 1 3.8-3 1.2-8.6ZM30.5 14c3 3.5 4 7.5 1.2 8.6-2.8 1-3.8-3-1.2-8.6Z"
        fill="#5dadec"
      />
    </>
  ),
  '🎉': (
    <>
      <path d="M3 33 10.5 12 24 25.5Z" fill="#dd2e44" />
      <path d="M7.3 21 15 28.5l-3.6 1.3-5.3-5.2ZM9.8 14l9.8 9.6-2.7 1.3-8-7.8Z" fill="#ffac33" />
      <path
        d="M17 10q2.5-5 6-2t6-2M22 17q4-1.5 5.5 1.5t5.5 0"
        fill="none"
        stroke="#aa8ed6"
        strokeWidth="1.8"
        strokeLinecap="round"
      />
      <circle cx="14" cy="5" r="2" fill="#55acee" />
      <circle cx="30" cy="12" r="1.8" fill="#77b255" />
      <circle cx="26" cy="3.5" r="1.6" fill="#ffcc4d" />
      <circle cx="31" cy="25" r="1.8" fill="#55acee" />
    </>
  ),
};

/** An emoji: a picture for the quick reactions (with the character for copy and screen readers). */
export function Emoji({ char, size = 18 }: { char: string; size?: number }) {
  const art = emojiArt[char];
  if (!art) return <span className="emoji">{char}</span>;
  return (
    <span className="emoji">
      <svg width={size} height={size} viewBox="0 0 36 36" aria-hidden="true" focusable="false">
        {art}
      </svg>
      <span className="sr-only">{char}</span>
    </span>
  );
}
